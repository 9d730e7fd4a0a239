package awsgw

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkPlainURLPath holds plainURLPath to url.Parse wherever it answers.
func checkPlainURLPath(t *testing.T, raw string) {
	p, ok := plainURLPath(raw)
	if !ok {
		return
	}
	u, err := url.Parse(raw)
	require.NoError(t, err, "%q", raw)
	require.Equal(t, u.Path, p, "%q", raw)
}

var queueURLSamples = []string{"http://127.0.0.1:4566/000000000000/q", "https://sqs.us-east-1.localhost/123/a.fifo",
	"http://h", "http://h/", "http://h:/a/b", "http://h:x/a/b", "http://[::1]:4566/1/q", "http://h/a%2Fb/c",
	"HTTP://h/1/q", "http://h/1/q?x=1", "http://u@h/1/q", "http://h//1//q/", "http:/h/1/q", "ftp://h/1/q", "http://h_x/1/q"}

func TestParseQueueURL(t *testing.T) {
	for _, raw := range queueURLSamples {
		checkPlainURLPath(t, raw)
	}
	cases := []struct {
		raw, path     string
		account, name string
		ok            bool
	}{
		{"http://127.0.0.1:4566/000000000000/q", "/", "000000000000", "q", true},
		{"https://h/1/q.fifo/", "/", "1", "q.fifo", true},
		{"http://[::1]:4566/1/q", "/", "1", "q", true},
		{"http://h/a%2Fb/c", "/", "", "", false},
		{"http://h/1", "/", "", "", false},
		{"http://h/1/q/x", "/", "", "", false},
		{"http://h//1/q", "/", "1", "q", true},
		{"", "/000000000000/q", "000000000000", "q", true},
		{"", "/", "", "", false},
	}
	for _, c := range cases {
		a, n, ok := parseQueueURL(c.raw, c.path)
		require.Equal(t, c.ok, ok, "%q %q", c.raw, c.path)
		require.Equal(t, c.account, a, "%q", c.raw)
		require.Equal(t, c.name, n, "%q", c.raw)
	}
}

func FuzzPlainURLPath(f *testing.F) {
	for _, s := range queueURLSamples {
		f.Add(s)
	}
	f.Fuzz(checkPlainURLPath)
}
