package awsgw

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// refCanonicalRequest is the part-by-part construction canonicalRequest
// must match.
func refCanonicalRequest(r *http.Request, signed []string, body []byte, presigned bool) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(uriEncode(path, false) + "\n")
	b.WriteString(canonicalQuery(r.URL.RawQuery, presigned) + "\n")
	for _, h := range signed {
		b.WriteString(h + ":" + headerValue(r, h) + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n")
	switch ph := r.Header.Get("X-Amz-Content-Sha256"); {
	case ph != "":
		b.WriteString(ph)
	case presigned && r.URL.Query().Get("X-Amz-Content-Sha256") != "":
		b.WriteString(r.URL.Query().Get("X-Amz-Content-Sha256"))
	default:
		sum := sha256.Sum256(body)
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return b.String()
}

// canonicalCase builds a request from fuzzed parts: the header value is
// sent once, or twice when it holds a '|' (split there).
func canonicalCase(path, query, host, hv string) (*http.Request, []string, bool) {
	u, err := url.Parse("http://x" + path)
	if err != nil || u.Host != "x" {
		return nil, nil, false
	}
	u.RawQuery = query
	r := &http.Request{Method: http.MethodPost, URL: u, Host: host, Header: http.Header{}, ContentLength: int64(len(hv))}
	if a, b, two := strings.Cut(hv, "|"); two {
		r.Header.Add("X-Amz-Meta", a)
		r.Header.Add("X-Amz-Meta", b)
	} else {
		r.Header.Set("X-Amz-Meta", hv)
	}
	r.Header.Set("X-Amz-Date", "20261128T010000Z")
	return r, []string{"content-length", "host", "x-amz-date", "x-amz-meta", "x-amz-missing"}, true
}

func TestCanonicalRequestMatchesReference(t *testing.T) {
	for _, c := range [][4]string{
		{"/", "", "127.0.0.1:4566", "plain value"},
		{"/000000000000/q", "", "localhost", "  spaced\t out  "},
		{"/a b/%41", "b=2&a=1&a=0&X-Amz-Signature=s", "h", "one|two  three"},
		{"", "", "", ""},
		{"/", "x", "h\u00a0h", "caf\u00e9\u00a0x"},
	} {
		r, signed, ok := canonicalCase(c[0], c[1], c[2], c[3])
		require.True(t, ok, c)
		for _, pre := range []bool{false, true} {
			require.Equal(t, refCanonicalRequest(r, signed, []byte("body"), pre), canonicalRequest(r, signed, []byte("body"), pre), c)
		}
	}
}

func FuzzCanonicalRequest(f *testing.F) {
	f.Add("/", "", "127.0.0.1:4566", "plain value", false)
	f.Add("/q", "a=1&b=%20", "h", " a  b |c\t", true)
	f.Fuzz(func(t *testing.T, path, query, host, hv string, presigned bool) {
		r, signed, ok := canonicalCase(path, query, host, hv)
		if !ok {
			return
		}
		require.Equal(t, refCanonicalRequest(r, signed, []byte(hv), presigned), canonicalRequest(r, signed, []byte(hv), presigned))
	})
}

// BenchmarkCanonicalRequest is the canonical request of a typical signed
// Query post (what every verified request builds).
func BenchmarkCanonicalRequest(b *testing.B) {
	r, _, _ := canonicalCase("/", "", "127.0.0.1:4566", "x")
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	signed := []string{"content-length", "content-type", "host", "x-amz-date"}
	body := []byte(strings.Repeat("Action=SendMessageBatch&", 80))
	b.ReportAllocs()
	for b.Loop() {
		_ = canonicalRequest(r, signed, body, false)
	}
}
