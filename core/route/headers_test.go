package route

import (
	"errors"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

func TestHeadersMatch(t *testing.T) {
	ts := time.Unix(1700000000, 0)
	tests := []struct {
		name string
		args message.Table
		h    message.Table
		want bool
	}{
		{"all default", message.Table{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}, message.Table{{Key: "a", Value: "1"}}, false},
		{"all ok", message.Table{{Key: "x-match", Value: "all"}, {Key: "a", Value: "1"}}, message.Table{{Key: "a", Value: "1"}, {Key: "z", Value: "9"}}, true},
		{"all value differs", message.Table{{Key: "a", Value: "1"}}, message.Table{{Key: "a", Value: "2"}}, false},
		{"all no args", message.Table{{Key: "x-match", Value: "all"}}, nil, true},
		{"any no args", message.Table{{Key: "x-match", Value: "any"}}, message.Table{{Key: "a", Value: "1"}}, false},
		{"any one", message.Table{{Key: "x-match", Value: "any"}, {Key: "a", Value: "1"}, {Key: "b", Value: "2"}}, message.Table{{Key: "b", Value: "2"}}, true},
		{"any none", message.Table{{Key: "x-match", Value: "any"}, {Key: "a", Value: "1"}}, message.Table{{Key: "a", Value: "3"}}, false},
		{"all ignores x-", message.Table{{Key: "a", Value: "1"}, {Key: "x-b", Value: "2"}}, message.Table{{Key: "a", Value: "1"}}, true},
		{"any ignores x-", message.Table{{Key: "x-match", Value: "any"}, {Key: "x-b", Value: "2"}}, message.Table{{Key: "x-b", Value: "2"}}, false},
		{"all-with-x", message.Table{{Key: "x-match", Value: "all-with-x"}, {Key: "a", Value: "1"}, {Key: "x-b", Value: "2"}}, message.Table{{Key: "a", Value: "1"}}, false},
		{"all-with-x ok", message.Table{{Key: "x-match", Value: "all-with-x"}, {Key: "x-b", Value: "2"}}, message.Table{{Key: "x-b", Value: "2"}}, true},
		{"any-with-x", message.Table{{Key: "x-match", Value: "any-with-x"}, {Key: "x-b", Value: "2"}}, message.Table{{Key: "x-b", Value: "2"}}, true},
		{"void present", message.Table{{Key: "a", Value: nil}}, message.Table{{Key: "a", Value: int32(7)}}, true},
		{"void absent", message.Table{{Key: "a", Value: nil}}, message.Table{{Key: "b", Value: int32(7)}}, false},
		{"void any", message.Table{{Key: "x-match", Value: "any"}, {Key: "a", Value: nil}, {Key: "b", Value: "z"}}, message.Table{{Key: "a", Value: "q"}}, true},
		{"header void vs value", message.Table{{Key: "a", Value: "1"}}, message.Table{{Key: "a", Value: nil}}, false},
		{"int widths", message.Table{{Key: "a", Value: int8(5)}}, message.Table{{Key: "a", Value: int64(5)}}, true},
		{"int vs float", message.Table{{Key: "a", Value: int32(1)}}, message.Table{{Key: "a", Value: float64(1)}}, true},
		{"int vs float differs", message.Table{{Key: "a", Value: int32(1)}}, message.Table{{Key: "a", Value: 1.5}}, false},
		{"uint64 big", message.Table{{Key: "a", Value: uint64(1 << 63)}}, message.Table{{Key: "a", Value: int64(-1)}}, false},
		{"string vs bytes", message.Table{{Key: "a", Value: "xy"}}, message.Table{{Key: "a", Value: []byte("xy")}}, true},
		{"string vs int", message.Table{{Key: "a", Value: "1"}}, message.Table{{Key: "a", Value: int32(1)}}, false},
		{"bool", message.Table{{Key: "a", Value: true}}, message.Table{{Key: "a", Value: true}}, true},
		{"bool vs string", message.Table{{Key: "a", Value: true}}, message.Table{{Key: "a", Value: "true"}}, false},
		{"timestamp vs long", message.Table{{Key: "a", Value: ts}}, message.Table{{Key: "a", Value: int64(1700000000)}}, true},
		{"decimal", message.Table{{Key: "a", Value: message.Decimal{Scale: 2, Value: 5}}}, message.Table{{Key: "a", Value: message.Decimal{Scale: 2, Value: 5}}}, true},
		{"array strict", message.Table{{Key: "a", Value: []any{"x", int32(1)}}}, message.Table{{Key: "a", Value: []any{"x", int32(1)}}}, true},
		{"array type differs", message.Table{{Key: "a", Value: []any{int32(1)}}}, message.Table{{Key: "a", Value: []any{int64(1)}}}, false},
		{"table", message.Table{{Key: "a", Value: message.Table{{Key: "k", Value: "v"}}}}, message.Table{{Key: "a", Value: message.Table{{Key: "k", Value: "v"}}}}, true},
		{"no headers", message.Table{{Key: "a", Value: "1"}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestTable(t)
			declare(t, tb, "h", Headers)
			bind(t, tb, Binding{Source: "h", Dest: q("q1"), Args: tt.args})
			got := len(names(t, tb, "h", msg("ignored", tt.h))) == 1
			if got != tt.want {
				t.Fatalf("got %v want %v", got, tt.want)
			}
		})
	}
}

func TestHeadersInvalidXMatch(t *testing.T) {
	tb := newTestTable(t)
	tests := []struct {
		v    any
		text string
	}{
		{"some", `Invalid x-match field value "some"; expected all, any, all-with-x, or any-with-x`},
		{int32(1), "Invalid x-match field type signedint (value 1); expected longstr"},
	}
	for _, tt := range tests {
		_, err := tb.Bind(Binding{Source: "amq.match", Dest: q("q1"), Args: message.Table{{Key: "x-match", Value: tt.v}}})
		if !errors.Is(err, ErrInvalidBinding) || err.Error() != tt.text {
			t.Fatalf("%v: %v", tt.v, err)
		}
	}
}
