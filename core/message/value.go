package message

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"
)

// TypeName is RabbitMQ's name for the field-table type of a header value
// ("longstr", "signedint", "table", ...), as its error texts show it.
func TypeName(v any) string {
	switch v.(type) {
	case bool:
		return "bool"
	case int8:
		return "byte"
	case uint8:
		return "unsignedbyte"
	case int16:
		return "short"
	case uint16:
		return "unsignedshort"
	case int32:
		return "signedint"
	case uint32:
		return "unsignedint"
	case int64, int:
		return "long"
	case uint64:
		return "unsignedlong"
	case float32:
		return "float"
	case float64:
		return "double"
	case Decimal:
		return "decimal"
	case string:
		return "longstr"
	case []byte:
		return "binary"
	case []any:
		return "array"
	case time.Time:
		return "timestamp"
	case Table:
		return "table"
	case nil:
		return "void"
	}
	return fmt.Sprintf("%T", v)
}

// Int returns a header value of any integer type as an int64; ok is false
// for other types and for a uint64 beyond int64's range.
func Int(v any) (n int64, ok bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x > 1<<63-1 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// TableFromJSON turns decoded JSON arguments (RabbitMQ definitions files,
// the management API) into a field table with RabbitMQ's types: integral
// numbers as signed 64-bit integers, other numbers as doubles (float64 or
// json.Number input), strings as long strings, lists as arrays, objects as
// tables. Keys are sorted, so equal JSON gives equal tables.
func TableFromJSON(m map[string]any) Table {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := make(Table, 0, len(m))
	for _, k := range keys {
		t = append(t, Field{Key: k, Value: valueFromJSON(m[k])})
	}
	return t
}

func valueFromJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return TableFromJSON(x)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = valueFromJSON(x[i])
		}
		return out
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
	case int:
		return int64(x)
	}
	return v
}
