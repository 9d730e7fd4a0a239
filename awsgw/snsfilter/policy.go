package snsfilter

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// AWS's limits on a filter policy.
const (
	// MaxKeys is the most attribute names (keys) one combination of a
	// policy may test.
	MaxKeys = 5
	// MaxCombinations is the most value combinations a policy may have:
	// the product of the number of values of each key, summed over the
	// branches of $or.
	MaxCombinations = 150
)

// Error is a filter policy that AWS would refuse. Its text is AWS's,
// without the "FilterPolicy: " prefix the caller adds, and with the
// Jackson position suffix AWS shows when the error has a position.
type Error struct {
	// Msg is the reason, e.g. "Empty arrays are not allowed".
	Msg string
	// Syntax marks malformed JSON ("failed to parse JSON. ...").
	Syntax bool
	src    string
	at     int // 1-based byte position of the column AWS reports; 0: none
}

// Error returns AWS's text.
func (e *Error) Error() string {
	if e.at == 0 {
		return e.Msg
	}
	line, col := 1, 1
	for i := 0; i < e.at-1 && i < len(e.src); i++ {
		if e.src[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	source := "REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)"
	if !e.Syntax {
		source = `(String)"` + e.src + `"`
		if len(e.src) > 500 {
			source = `(String)"` + e.src[:500] + `"[truncated ` + strconv.Itoa(len(e.src)-500) + " chars]"
		}
	}
	return fmt.Sprintf("%s\n at [Source: %s; line: %d, column: %d]", e.Msg, source, line, col)
}

// Policy is a parsed filter policy, safe for concurrent use.
type Policy struct {
	root   *node
	nested bool
	keys   int
	combos int
}

// Nested reports whether the policy has nested keys, which only the
// MessageBody scope supports.
func (p *Policy) Nested() bool { return p.nested }

// node is a set of keys that must all match, and $or groups of which one
// branch each must match.
type node struct {
	keys []keyRule
	ors  [][]*node
}

// keyRule is one key: either a list of conditions (one must hold) or a
// nested node (MessageBody scope).
type keyRule struct {
	name  string
	conds []cond
	child *node
}

// opKind is a condition's operator.
type opKind uint8

const (
	opExactString opKind = iota + 1
	opExactNumber
	opExactBool
	opExactNull
	opPrefix
	opSuffix
	opEqualsIgnoreCase
	opAnythingBut // strs/nums: excluded values
	opAnythingButPrefix
	opAnythingButSuffix
	opAnythingButIgnoreCase
	opNumeric
	opExists
	opCIDR
)

// cond is one condition of a key.
type cond struct {
	op     opKind
	s      string
	num    float64
	b      bool
	strs   []string
	nums   []float64
	lo, hi bound
	prefix netip.Prefix
}

// bound is one side of a numeric range.
type bound struct {
	set, incl bool
	v         float64
}

// Parse parses and validates a filter policy as AWS does: JSON syntax,
// operators and their operands, then the limits on keys and combinations.
func Parse(text string) (*Policy, error) {
	doc, jerr := parseDocument(text)
	if jerr != nil {
		return nil, jerr
	}
	p := &parser{src: text}
	if doc.kind != jObject {
		return nil, p.errAt(doc, false, "Filter policy must be an object")
	}
	root, err := p.node(doc)
	if err != nil {
		return nil, err
	}
	pol := &Policy{root: root, nested: p.nested, keys: maxKeys(root), combos: combinations(root)}
	if pol.keys > MaxKeys {
		return nil, &Error{Msg: "Filter policy can not have more than 5 keys"}
	}
	if pol.combos > MaxCombinations {
		return nil, &Error{Msg: "Filter policy is too complex"}
	}
	return pol, nil
}

// parser interprets the JSON tree of a policy.
type parser struct {
	src    string
	nested bool
}

// errAt is an error positioned as Jackson positions it: just inside a
// string whose text was not read, else just past the token.
func (p *parser) errAt(v *jval, textRead bool, format string, args ...any) *Error {
	at := v.end + 1
	if v.kind == jString && !textRead {
		at = v.start + 2
	}
	if v.kind == jArray || v.kind == jObject {
		at = v.start + 2
	}
	return &Error{Msg: fmt.Sprintf(format, args...), src: p.src, at: at}
}

// errAfter is an error positioned just past a closing bracket.
func (p *parser) errAfter(v *jval, format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), src: p.src, at: v.end + 1}
}

func (p *parser) node(obj *jval) (*node, *Error) {
	n := &node{}
	for _, m := range obj.obj {
		if m.key == "$or" {
			g, err := p.orGroup(m.val)
			if err != nil {
				return nil, err
			}
			n.ors = append(n.ors, g)
			continue
		}
		k := keyRule{name: m.key}
		switch m.val.kind {
		case jArray:
			conds, err := p.conditions(m.val)
			if err != nil {
				return nil, err
			}
			k.conds = conds
		case jObject:
			p.nested = true
			child, err := p.node(m.val)
			if err != nil {
				return nil, err
			}
			k.child = child
		default:
			return nil, p.errAt(m.val, false, "%q must be an object or an array", m.key)
		}
		n.keys = append(n.keys, k)
	}
	sort.Slice(n.keys, func(i, j int) bool { return n.keys[i].name < n.keys[j].name })
	return n, nil
}

func (p *parser) orGroup(v *jval) ([]*node, *Error) {
	if v.kind != jArray {
		return nil, p.errAt(v, false, "Or condition must be an array")
	}
	if len(v.arr) < 2 {
		return nil, p.errAfter(v, "Or condition must have at least 2 elements")
	}
	var g []*node
	for _, e := range v.arr {
		if e.kind != jObject {
			return nil, p.errAt(e, false, "Or condition elements must be objects")
		}
		n, err := p.node(e)
		if err != nil {
			return nil, err
		}
		g = append(g, n)
	}
	return g, nil
}

// conditions parses a key's list of values and operators.
func (p *parser) conditions(list *jval) ([]cond, *Error) {
	if len(list.arr) == 0 {
		return nil, p.errAfter(list, "Empty arrays are not allowed")
	}
	conds := make([]cond, 0, len(list.arr))
	for _, e := range list.arr {
		var c cond
		switch e.kind {
		case jString:
			c = cond{op: opExactString, s: e.str}
		case jNumber:
			c = cond{op: opExactNumber, num: e.num}
		case jBool:
			c = cond{op: opExactBool, b: e.b}
		case jNull:
			c = cond{op: opExactNull}
		case jArray:
			return nil, p.errAfter(&jval{end: e.start + 1}, "Match value must be String, number, true, false, or null")
		case jObject:
			var err *Error
			if c, err = p.operator(e); err != nil {
				return nil, err
			}
		}
		conds = append(conds, c)
	}
	return conds, nil
}

// operator parses one operator object such as {"prefix": "a"}.
func (p *parser) operator(obj *jval) (cond, *Error) {
	if len(obj.obj) == 0 {
		return cond{}, p.errAfter(obj, "Empty objects are not allowed")
	}
	if len(obj.obj) > 1 {
		return cond{}, p.errAt(obj.obj[1].val, false, "Only one key allowed in match expression")
	}
	op, v := obj.obj[0].key, obj.obj[0].val
	switch op {
	case "prefix", "suffix", "equals-ignore-case":
		if v.kind != jString {
			return cond{}, p.errAt(v, false, "%s match pattern must be a string", op)
		}
		kinds := map[string]opKind{"prefix": opPrefix, "suffix": opSuffix, "equals-ignore-case": opEqualsIgnoreCase}
		return cond{op: kinds[op], s: v.str}, nil
	case "exists":
		if v.kind != jBool {
			return cond{}, p.errAt(v, false, "exists match pattern must be either true or false.")
		}
		return cond{op: opExists, b: v.b}, nil
	case "cidr":
		return p.cidr(v)
	case "numeric":
		return p.numeric(v)
	case "anything-but":
		return p.anythingBut(v)
	}
	return cond{}, p.errAt(v, false, "Unrecognized match type %s", op)
}

func (p *parser) cidr(v *jval) (cond, *Error) {
	if v.kind != jString {
		return cond{}, p.errAt(v, false, "prefix match pattern must be a string") // sic: AWS's text
	}
	addr, bits, ok := strings.Cut(v.str, "/")
	if !ok || strings.Contains(bits, "/") {
		return cond{}, &Error{Msg: "Malformed CIDR, one '/' required"}
	}
	n, err := strconv.Atoi(bits)
	if err != nil {
		return cond{}, &Error{Msg: "Malformed CIDR, mask bits must be an integer"}
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return cond{}, &Error{Msg: "Nonstandard IP address: " + addr}
	}
	pfx, err := ip.Prefix(n)
	if err != nil || n < 0 {
		return cond{}, &Error{Msg: "Malformed CIDR, mask bits must be an integer"}
	}
	return cond{op: opCIDR, prefix: pfx}, nil
}

func (p *parser) anythingBut(v *jval) (cond, *Error) {
	c := cond{op: opAnythingBut}
	switch v.kind {
	case jString:
		c.strs = []string{v.str}
	case jNumber:
		c.nums = []float64{v.num}
	case jArray:
		if len(v.arr) == 0 {
			return cond{}, p.errAfter(v, "Empty arrays are not allowed")
		}
		for _, e := range v.arr {
			switch e.kind {
			case jString:
				c.strs = append(c.strs, e.str)
			case jNumber:
				c.nums = append(c.nums, e.num)
			default:
				return cond{}, p.errAt(e, false, "Inside anything but list, start|null|boolean is not supported.")
			}
		}
	case jObject:
		return p.anythingButObject(v)
	default:
		return cond{}, p.errAt(v, false, "Value of anything-but must be an array or single string/number value.")
	}
	return c, nil
}

// anythingButObject parses {"anything-but": {"prefix": "x"}} and its
// suffix and equals-ignore-case forms.
func (p *parser) anythingButObject(v *jval) (cond, *Error) {
	if len(v.obj) != 1 {
		return cond{}, p.errAfter(v, "Only one key allowed in match expression")
	}
	op, e := v.obj[0].key, v.obj[0].val
	kinds := map[string]opKind{"prefix": opAnythingButPrefix, "suffix": opAnythingButSuffix,
		"equals-ignore-case": opAnythingButIgnoreCase}
	kind, ok := kinds[op]
	if !ok {
		return cond{}, p.errAt(e, false, "Unsupported anything-but pattern: %s", op)
	}
	if kind == opAnythingButIgnoreCase && e.kind == jArray {
		c := cond{op: kind}
		for _, x := range e.arr {
			if x.kind != jString {
				return cond{}, p.errAt(x, false, "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
			}
			c.strs = append(c.strs, x.str)
		}
		return c, nil
	}
	if e.kind != jString {
		return cond{}, p.errAt(e, false, "%s match pattern must be a string", op)
	}
	return cond{op: kind, s: e.str, strs: []string{e.str}}, nil
}
