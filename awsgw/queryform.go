package awsgw

import (
	"net/url"
	"strings"
)

// parseForm parses a Query form as url.ParseQuery does, with fewer
// allocations for the forms SDKs send: every key's value slice is cut
// from one backing array (with its capacity capped, so that a repeated
// key appends into a copy, not over a neighbour), and a key or value
// without escapes stays a substring of s. A form it is not sure to parse
// exactly as url.ParseQuery (a semicolon, a bad escape, more parameters
// than maxFastParams) goes to url.ParseQuery, which also gives the error.
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
	n := strings.Count(s, "&") + 1
	if n > maxFastParams || strings.IndexByte(s, ';') >= 0 {
		return nil, false
	}
	m := make(url.Values, n)
	vals := make([]string, n)
	i := 0
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, ok := queryUnescape(k)
		if !ok {
			return nil, false
		}
		if v, ok = queryUnescape(v); !ok {
			return nil, false
		}
		if old, dup := m[k]; dup {
			m[k] = append(old, v)
			continue
		}
		vals[i] = v
		m[k] = vals[i : i+1 : i+1]
		i++
	}
	return m, true
}

// queryUnescape is url.QueryUnescape for well-formed input: '+' is a
// space, %XX a byte; ok=false for a '%' without two hex digits. A string
// without either is returned as is.
func queryUnescape(s string) (string, bool) {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '%' || c == '+' {
			plain = false
			break
		}
	}
	if plain {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), true
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
