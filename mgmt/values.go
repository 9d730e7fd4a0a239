package mgmt

import (
	"encoding/json"
	"math"
	"time"

	"github.com/junctionmq/junction/core/message"
)

// Conversions between AMQP field tables and the JSON the management API
// reads and writes, as RabbitMQ converts them (rabbit_mgmt_format).

// tableJSON turns an AMQP field table into a JSON object, as the
// management plugin shows arguments, headers and client properties. It
// never returns nil: an empty table is {}.
func tableJSON(t message.Table) map[string]any {
	out := make(map[string]any, len(t))
	for _, f := range t {
		out[f.Key] = valueJSON(f.Value)
	}
	return out
}

// valueJSON converts one field-table value.
func valueJSON(v any) any {
	switch x := v.(type) {
	case message.Table:
		return tableJSON(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = valueJSON(e)
		}
		return out
	case []byte:
		return string(x)
	case message.Decimal:
		f := float64(x.Value)
		for range x.Scale {
			f /= 10
		}
		return f
	case time.Time:
		return x.Unix()
	}
	return v
}

// normalize turns JSON numbers (json.Number, float64) into int64 when
// integral and float64 otherwise, recursively, as the user store expects
// policy definitions.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// normalizeMap is normalize for an object.
func normalizeMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return normalize(m).(map[string]any)
}

// boolParam reads a boolean query parameter ("true").
func boolParam(v string) bool { return v == "true" }

// jsonMarshalSorted encodes v; encoding/json writes map keys sorted, so
// equal objects give equal bytes.
func jsonMarshalSorted(v any) ([]byte, error) { return json.Marshal(v) }
