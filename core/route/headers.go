package route

import (
	"fmt"
	"strings"

	"github.com/junctionmq/junction/core/message"
)

// xMatch is a headers binding's x-match mode.
type xMatch uint8

const (
	matchAll xMatch = iota
	matchAny
	matchAllWithX
	matchAnyWithX
)

// headerSpec is a headers binding's arguments, parsed once at bind time.
type headerSpec struct {
	mode   xMatch
	fields message.Table // what to compare: no x-match; no x-* unless -with-x
}

// parseHeaderSpec validates x-match as RabbitMQ does
// (rabbit_exchange_type_headers:validate_binding): absent means all; it
// must be the long string all, any, all-with-x or any-with-x.
func parseHeaderSpec(args message.Table) (headerSpec, error) {
	var s headerSpec
	if v, ok := args.Get("x-match"); ok {
		str, isStr := v.(string)
		switch {
		case !isStr:
			return s, &Error{Err: ErrInvalidBinding, Resource: "exchange", Detail: fmt.Sprintf(
				"Invalid x-match field type %s (value %v); expected longstr", message.TypeName(v), v)}
		case str == "all":
			s.mode = matchAll
		case str == "any":
			s.mode = matchAny
		case str == "all-with-x":
			s.mode = matchAllWithX
		case str == "any-with-x":
			s.mode = matchAnyWithX
		default:
			return s, &Error{Err: ErrInvalidBinding, Resource: "exchange", Detail: fmt.Sprintf(
				"Invalid x-match field value %q; expected all, any, all-with-x, or any-with-x", str)}
		}
	}
	withX := s.mode == matchAllWithX || s.mode == matchAnyWithX
	for _, f := range args {
		if f.Key == "x-match" || !withX && strings.HasPrefix(f.Key, "x-") {
			continue
		}
		s.fields = append(s.fields, f)
	}
	return s, nil
}

// match reports whether headers h satisfy the spec. A binding argument of
// void type (nil) asks only that the header be present. With all, no
// arguments to compare matches every message; with any, none.
func (s *headerSpec) match(h message.Table) bool {
	all := s.mode == matchAll || s.mode == matchAllWithX
	for i := range s.fields {
		f := &s.fields[i]
		v, ok := h.Get(f.Key)
		hit := ok && (f.Value == nil || looseEqual(f.Value, v))
		if all && !hit {
			return false
		}
		if !all && hit {
			return true
		}
	}
	return all
}
