package route

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/junctionmq/junction/core/message"
)

// looseEqual compares a binding argument with a header value as RabbitMQ's
// headers exchange does (Erlang ==, which ignores the field type): numbers
// compare by value across integer and float types, a timestamp is its
// seconds, a long string equals a byte array with the same bytes. Arrays
// and tables nested inside compare strictly (type and value), as their
// elements carry their type tags in RabbitMQ.
func looseEqual(a, b any) bool {
	if x, ok := numeric(a); ok {
		y, ok := numeric(b)
		return ok && x.eq(y)
	}
	switch x := a.(type) {
	case string:
		switch y := b.(type) {
		case string:
			return x == y
		case []byte:
			return x == string(y)
		}
		return false
	case []byte:
		switch y := b.(type) {
		case string:
			return string(x) == y
		case []byte:
			return bytes.Equal(x, y)
		}
		return false
	}
	return strictEqual(a, b)
}

// num is a number as Erlang holds it: an integer (int or uint) or a float.
type num struct {
	kind uint8 // 0 int, 1 uint, 2 float
	i    int64
	u    uint64
	f    float64
}

func (x num) eq(y num) bool {
	if x.kind == 2 || y.kind == 2 {
		return x.float() == y.float()
	}
	if x.kind == y.kind {
		return x.i == y.i && x.u == y.u
	}
	if x.kind == 1 { // uint vs int
		x, y = y, x
	}
	return x.i >= 0 && uint64(x.i) == y.u
}

func (x num) float() float64 {
	switch x.kind {
	case 0:
		return float64(x.i)
	case 1:
		return float64(x.u)
	}
	return x.f
}

func numeric(v any) (num, bool) {
	switch v := v.(type) {
	case int8:
		return num{i: int64(v)}, true
	case int16:
		return num{i: int64(v)}, true
	case int32:
		return num{i: int64(v)}, true
	case int64:
		return num{i: v}, true
	case int:
		return num{i: int64(v)}, true
	case uint8:
		return num{i: int64(v)}, true
	case uint16:
		return num{i: int64(v)}, true
	case uint32:
		return num{i: int64(v)}, true
	case uint64:
		return num{kind: 1, u: v}, true
	case float32:
		return num{kind: 2, f: float64(v)}, true
	case float64:
		return num{kind: 2, f: v}, true
	case time.Time:
		return num{i: v.Unix()}, true
	}
	return num{}, false
}

// strictEqual compares two field values by AMQP type and value.
func strictEqual(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !strictEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case message.Table:
		b, ok := b.(message.Table)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i].Key != b[i].Key || !strictEqual(a[i].Value, b[i].Value) {
				return false
			}
		}
		return true
	case time.Time:
		b, ok := b.(time.Time)
		return ok && a.Unix() == b.Unix()
	case float64:
		b, ok := b.(float64)
		return ok && (a == b || math.IsNaN(a) && math.IsNaN(b))
	}
	switch b.(type) {
	case []byte, []any, message.Table, time.Time:
		return false
	}
	return isScalar(a) && a == b
}

func isScalar(v any) bool {
	switch v.(type) {
	case bool, string, int8, int16, int32, int64, int, uint8, uint16, uint32, uint64,
		float32, float64, message.Decimal:
		return true
	}
	return false
}

// argsEqual compares two argument tables regardless of field order, with
// strict values: RabbitMQ sorts binding arguments before comparing them.
func argsEqual(a, b message.Table) bool {
	if len(a) != len(b) {
		return false
	}
	for _, f := range a {
		v, ok := b.Get(f.Key)
		if !ok || !strictEqual(f.Value, v) {
			return false
		}
	}
	return true
}

// renderArg renders an argument for an InequivalentError.
func renderArg(v any, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprintf("the value '%v' of type '%s'", v, message.TypeName(v))
}
