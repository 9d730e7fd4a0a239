package snsfilter

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
)

// Attribute is one SNS message attribute as a filter policy sees it.
type Attribute struct {
	// Type is the data type: "String", "Number", "String.Array" or
	// "Binary" (custom suffixes such as "Number.float" allowed).
	Type  string
	Value string
}

// MatchAttributes evaluates the policy against message attributes
// (FilterPolicyScope MessageAttributes). Binary attributes are ignored,
// as AWS ignores them. A Number attribute matches numeric conditions; a
// String.Array attribute matches when any of its elements does.
func (p *Policy) MatchAttributes(attrs map[string]Attribute) bool {
	obj := make(map[string]any, len(attrs))
	for name, a := range attrs {
		base, _, _ := strings.Cut(a.Type, ".")
		switch {
		case strings.HasPrefix(a.Type, "String.Array"):
			var arr []any
			if json.Unmarshal([]byte(a.Value), &arr) == nil {
				obj[name] = arr
			} else {
				obj[name] = a.Value
			}
		case base == "Number":
			if f, err := strconv.ParseFloat(strings.TrimSpace(a.Value), 64); err == nil {
				obj[name] = f
			} else {
				obj[name] = a.Value
			}
		case base == "String":
			obj[name] = a.Value
		}
	}
	return p.root.match([]any{obj})
}

// MatchBody evaluates the policy against a JSON message body
// (FilterPolicyScope MessageBody). A body that is not a JSON object
// matches nothing.
func (p *Policy) MatchBody(body []byte) bool {
	var obj map[string]any
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return false
	}
	return p.root.match([]any{obj})
}

// match reports whether the node holds for the objects in ctx (the
// values found at the node's path, arrays flattened).
func (n *node) match(ctx []any) bool {
	for i := range n.keys {
		k := &n.keys[i]
		vals := lookup(ctx, k.name)
		if k.child != nil {
			if !k.child.match(vals) {
				return false
			}
			continue
		}
		if !matchConds(k.conds, vals) {
			return false
		}
	}
	for _, g := range n.ors {
		ok := false
		for _, b := range g {
			if b.match(ctx) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// lookup collects key's values from every object of ctx, flattening
// arrays (AWS matches an array when any of its elements matches).
func lookup(ctx []any, key string) []any {
	var out []any
	for _, o := range ctx {
		m, ok := o.(map[string]any)
		if !ok {
			continue
		}
		v, ok := m[key]
		if !ok {
			continue
		}
		out = flatten(out, v)
	}
	return out
}

func flatten(out []any, v any) []any {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			out = flatten(out, e)
		}
		return out
	}
	return append(out, v)
}

// matchConds reports whether any condition holds for the values.
func matchConds(conds []cond, vals []any) bool {
	for i := range conds {
		c := &conds[i]
		if c.op == opExists {
			if (len(vals) > 0) == c.b {
				return true
			}
			continue
		}
		for _, v := range vals {
			if c.holds(v) {
				return true
			}
		}
	}
	return false
}

// holds reports whether one value satisfies the condition.
func (c *cond) holds(v any) bool {
	s, isStr := v.(string)
	f, isNum := v.(float64)
	switch c.op {
	case opExactString:
		return isStr && s == c.s
	case opExactNumber:
		return isNum && f == c.num
	case opExactBool:
		b, ok := v.(bool)
		return ok && b == c.b
	case opExactNull:
		return v == nil
	case opPrefix:
		return isStr && strings.HasPrefix(s, c.s)
	case opSuffix:
		return isStr && strings.HasSuffix(s, c.s)
	case opEqualsIgnoreCase:
		return isStr && strings.EqualFold(s, c.s)
	case opAnythingBut:
		return c.anythingBut(v)
	case opAnythingButPrefix:
		return isStr && !strings.HasPrefix(s, c.s)
	case opAnythingButSuffix:
		return isStr && !strings.HasSuffix(s, c.s)
	case opAnythingButIgnoreCase:
		if !isStr {
			return false
		}
		for _, x := range c.strs {
			if strings.EqualFold(s, x) {
				return false
			}
		}
		return true
	case opNumeric:
		return isNum && c.lo.below(f) && c.hi.above(f)
	case opCIDR:
		ip, err := netip.ParseAddr(s)
		return isStr && err == nil && c.prefix.Contains(ip.Unmap())
	}
	return false
}

func (c *cond) anythingBut(v any) bool {
	switch x := v.(type) {
	case string:
		for _, e := range c.strs {
			if e == x {
				return false
			}
		}
	case float64:
		for _, e := range c.nums {
			if e == x {
				return false
			}
		}
	}
	return true
}

// below reports whether f is at or above a lower bound.
func (b bound) below(f float64) bool {
	if !b.set {
		return true
	}
	return f > b.v || b.incl && f == b.v
}

// above reports whether f is at or below an upper bound.
func (b bound) above(f float64) bool {
	if !b.set {
		return true
	}
	return f < b.v || b.incl && f == b.v
}
