package snsfilter

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// jkind is the kind of a parsed JSON value.
type jkind uint8

const (
	jString jkind = iota + 1
	jNumber
	jBool
	jNull
	jArray
	jObject
)

// jval is a JSON value with its byte span in the policy text, so that
// validation errors can report the column AWS (Jackson) reports.
type jval struct {
	kind       jkind
	start, end int // byte offsets; end is exclusive
	str        string
	num        float64
	b          bool
	raw        string // a number's text
	arr        []*jval
	obj        []member
}

// member is one key of a JSON object.
type member struct {
	key string
	val *jval
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 64

// jparser is a small JSON parser that keeps positions.
type jparser struct {
	src string
	pos int
}

// syntaxError is a JSON syntax error worded as Jackson words it.
func (p *jparser) syntaxError(pos int, format string, args ...any) *Error {
	return &Error{Msg: "failed to parse JSON. " + fmt.Sprintf(format, args...), Syntax: true, src: p.src, at: pos + 1}
}

func (p *jparser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// parseDocument parses the whole text as one JSON value.
func parseDocument(src string) (*jval, *Error) {
	p := &jparser{src: src}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return nil, p.unexpected("was expecting end of input")
	}
	return v, nil
}

func (p *jparser) unexpected(expect string) *Error {
	if p.pos >= len(p.src) {
		return p.syntaxError(p.pos, "Unexpected end-of-input: %s", expect)
	}
	c := p.src[p.pos]
	return p.syntaxError(p.pos, "Unexpected character ('%c' (code %d)): %s", c, c, expect)
}

func (p *jparser) value(depth int) (*jval, *Error) {
	if depth > maxDepth {
		return nil, p.syntaxError(p.pos, "Maximum nesting depth exceeded")
	}
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.syntaxError(p.pos, "No content to map due to end-of-input")
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.stringVal()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return p.literal()
	}
}

func (p *jparser) literal() (*jval, *Error) {
	start := p.pos
	for p.pos < len(p.src) && isWordChar(p.src[p.pos]) {
		p.pos++
	}
	word := p.src[start:p.pos]
	v := &jval{start: start, end: p.pos}
	switch word {
	case "true", "false":
		v.kind, v.b = jBool, word == "true"
	case "null":
		v.kind = jNull
	default:
		if word == "" {
			p.pos++
			word = p.src[start:p.pos]
		}
		return nil, p.syntaxError(p.pos, "Unrecognized token '%s': was expecting (JSON String, Number, Array, "+
			"Object or token 'null', 'true' or 'false')", word)
	}
	return v, nil
}

func isWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c >= 0x80
}

func (p *jparser) number() (*jval, *Error) {
	start := p.pos
	for p.pos < len(p.src) && (p.src[p.pos] == '-' || p.src[p.pos] == '+' || p.src[p.pos] == '.' ||
		p.src[p.pos] == 'e' || p.src[p.pos] == 'E' || p.src[p.pos] >= '0' && p.src[p.pos] <= '9') {
		p.pos++
	}
	raw := p.src[start:p.pos]
	if !json.Valid([]byte(raw)) {
		return nil, p.syntaxError(start, "Invalid numeric value: %s", raw)
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return nil, p.syntaxError(start, "Numeric value (%s) out of range", raw)
	}
	return &jval{kind: jNumber, start: start, end: p.pos, num: f, raw: raw}, nil
}

func (p *jparser) stringVal() (*jval, *Error) {
	start := p.pos
	p.pos++
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '\\':
			p.pos += 2
			continue
		case '"':
			p.pos++
			var s string
			if err := json.Unmarshal([]byte(p.src[start:p.pos]), &s); err != nil {
				return nil, p.syntaxError(start, "Unrecognized character escape")
			}
			return &jval{kind: jString, start: start, end: p.pos, str: s}, nil
		}
		if p.src[p.pos] < 0x20 {
			return nil, p.syntaxError(p.pos, "Illegal unquoted character ((CTRL-CHAR, code %d)): has to be "+
				"escaped using backslash to be included in string value", p.src[p.pos])
		}
		p.pos++
	}
	p.pos = len(p.src)
	return nil, p.syntaxError(p.pos, "Unexpected end-of-input: was expecting closing quote for a string value")
}

func (p *jparser) array(depth int) (*jval, *Error) {
	v := &jval{kind: jArray, start: p.pos}
	p.pos++
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		v.end = p.pos
		return v, nil
	}
	for {
		e, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v.arr = append(v.arr, e)
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == ']' {
			p.pos++
			v.end = p.pos
			return v, nil
		}
		return nil, p.unexpected("was expecting comma to separate Array entries")
	}
}

func (p *jparser) object(depth int) (*jval, *Error) {
	v := &jval{kind: jObject, start: p.pos}
	p.pos++
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		v.end = p.pos
		return v, nil
	}
	seen := map[string]bool{}
	for {
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return nil, p.unexpected("was expecting double-quote to start field name")
		}
		k, err := p.stringVal()
		if err != nil {
			return nil, err
		}
		if seen[k.str] {
			return nil, p.syntaxError(k.end, "Duplicate field '%s'", k.str)
		}
		seen[k.str] = true
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, p.unexpected("was expecting a colon to separate field name and value")
		}
		p.pos++
		e, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v.obj = append(v.obj, member{key: k.str, val: e})
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == '}' {
			p.pos++
			v.end = p.pos
			return v, nil
		}
		return nil, p.unexpected("was expecting comma to separate Object entries")
	}
}

// CheckJSON reports whether text is one JSON value, with Jackson's wording
// when it is not (AWS words every JSON attribute error this way, e.g. a
// malformed RedrivePolicy).
func CheckJSON(text string) error {
	if _, err := parseDocument(text); err != nil {
		return err
	}
	return nil
}
