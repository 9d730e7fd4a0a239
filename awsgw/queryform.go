package awsgw

import (
	"net/url"
	"strings"
	"unsafe"
)

// parseForm parses a Query form as url.ParseQuery does, with fewer
// allocations for the forms SDKs send: every key's value slice is cut
// from one backing array (with its capacity capped, so that appending to
// one copies it rather than overwriting a neighbour), a key or value
// without escapes stays a substring of s, and the values that need
// unescaping share one string (the unescaping buffer itself, not a copy
// of it). A form it is not sure to parse exactly as
// url.ParseQuery (a semicolon, a bad escape, a repeated key, more
// parameters than maxFastParams) goes to url.ParseQuery, which also gives
// the error.
// The fuzz target in queryform_test.go holds the two to the same result.
func parseForm(s string) (url.Values, error) {
	if m, ok := parseFormFast(s); ok {
		return m, nil
	}
	return url.ParseQuery(s)
}

// maxFastParams bounds the parameters parseFormFast takes: far more than
// any SQS or SNS action sends, far fewer than url.ParseQuery's limit.
const maxFastParams = 1000

func parseFormFast(s string) (url.Values, bool) {
	keys, vals, ok := parseFormPairs(s)
	if !ok {
		return nil, false
	}
	m := make(url.Values, len(keys))
	for i, k := range keys {
		m[k] = vals[i : i+1 : i+1]
		if len(m) != i+1 {
			return nil, false // a repeated key (rare): one map operation per key instead of two
		}
	}
	return m, true
}

// parseFormPairs parses a form as parseFormFast does into its keys and
// their values in the order sent, without a map (a key may repeat);
// ok=false for a form url.ParseQuery might parse otherwise or refuse.
func parseFormPairs(s string) (keys, vals []string, ok bool) {
	n := strings.Count(s, "&") + 1
	if n > maxFastParams || strings.IndexByte(s, ';') >= 0 {
		return nil, nil, false
	}
	// One array for the keys and the values: keys in the first half.
	kv := make([]string, 2*n)
	keys, vals = kv[:n:n], kv[n:]
	// The first values of keys that need unescaping (receipt handles,
	// queue URLs, bodies with spaces) are unescaped into one buffer that
	// becomes one string, of which each is a substring.
	type span struct{ i, from, to int }
	var spans []span
	var buf []byte
	i := 0
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if k, ok = queryUnescape(k); !ok {
			return nil, nil, false
		}
		keys[i] = k
		if plainQuery(v) {
			vals[i] = v
		} else {
			if buf == nil {
				buf = make([]byte, 0, len(pair)+len(s))
			}
			from := len(buf)
			if buf, ok = appendQueryUnescape(buf, v); !ok {
				return nil, nil, false
			}
			if spans == nil {
				spans = make([]span, 0, n-i) // one allocation, not a doubling per escaped value
			}
			spans = append(spans, span{i, from, len(buf)})
		}
		i++
	}
	if len(spans) > 0 {
		// buf is not touched again: the string is a view of it, not a copy.
		all := unsafe.String(unsafe.SliceData(buf), len(buf))
		for _, sp := range spans {
			vals[sp.i] = all[sp.from:sp.to]
		}
	}
	return keys[:i], vals[:i], true
}

// pairsForm is the url.Values of a form's pairs, as url.ParseQuery makes
// it: a repeated key's values in the order sent.
func pairsForm(keys, vals []string) url.Values {
	m := make(url.Values, len(keys))
	for i, k := range keys {
		if vs, ok := m[k]; ok {
			m[k] = append(vs, vals[i]) // cap-limited: a copy, not a neighbour overwritten
		} else {
			m[k] = vals[i : i+1 : i+1]
		}
	}
	return m
}

// formFirst is url.Values.Get over a form's pairs: the first value of k.
func formFirst(keys, vals []string, k string) string {
	for i, key := range keys {
		if key == k {
			return vals[i]
		}
	}
	return ""
}

// plainQuery reports whether s has nothing to unescape.
func plainQuery(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '%' || c == '+' {
			return false
		}
	}
	return true
}

// queryUnescape is url.QueryUnescape for well-formed input: '+' is a
// space, %XX a byte; ok=false for a '%' without two hex digits. A string
// without either is returned as is.
func queryUnescape(s string) (string, bool) {
	if plainQuery(s) {
		return s, true
	}
	b, ok := appendQueryUnescape(make([]byte, 0, len(s)), s)
	if !ok {
		return "", false
	}
	return string(b), true
}

// appendQueryUnescape appends s unescaped as queryUnescape unescapes it.
func appendQueryUnescape(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return b, false
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return b, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
