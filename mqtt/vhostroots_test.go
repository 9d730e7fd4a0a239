package mqtt

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVhostRoots: the rooting of topic names and filters (vhost.go) and its
// inverse, for vhost names that hold the characters a topic level cannot.
func TestVhostRoots(t *testing.T) {
	r := rootsOf("/")
	cases := []struct{ in, rooted string }{
		{"a/b", "$V:%2F/a/b"},
		{"#", "$V:%2F/#"},
		{"+/b", "$V:%2F/+/b"},
		{"$foo/bar", "$V$:%2F/$foo/bar"}, // "#" and "+/..." must not match it
		{"$SYS/#", "$SYS/#"},             // broker-wide
		{"$share/g/a/+", "$share/g/$V:%2F/a/+"},
		{"$SHARE/g/#", "$SHARE/g/$V:%2F/#"},
		{"$share/g/$SYS/#", "$share/g/$SYS/#"},
		{"", ""},           // invalid: left for mochi to refuse
		{"a/#/b", "a/#/b"}, // invalid
	}
	for _, c := range cases {
		got := r.filter(c.in)
		require.Equal(t, c.rooted, got, c.in)
		require.Equal(t, c.in, userFilter(got), c.in)
	}
	require.Equal(t, "$V:%2F/a/b", r.topic("a/b"))
	require.Equal(t, "a/b", userTopic(r.topic("a/b")))

	// Another vhost's root named by a client is rooted once more.
	require.Equal(t, "$V$:%2F/$V:b/x", r.topic("$V:b/x"))
	require.Equal(t, "$V:b/x", userTopic(r.topic("$V:b/x")))

	// Distinct vhosts, distinct roots; no root holds "/", "+" or "#".
	seen := map[string]string{}
	for _, v := range []string{"/", "%2F", "a/b", "a%2Fb", "a+b", "a#b", "x", "x\x00"} {
		e := escapeVhost(v)
		require.NotContains(t, e, "/")
		require.NotContains(t, e, "+")
		require.NotContains(t, e, "#")
		prev, dup := seen[e]
		require.False(t, dup, "%q and %q share a root", v, prev)
		seen[e] = v
	}
}
