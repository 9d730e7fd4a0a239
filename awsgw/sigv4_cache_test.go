package awsgw

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSigningKeyCache: a cached signing key is the derived one, each
// secret, date, region and service has its own, and the cache stays
// bounded.
func TestSigningKeyCache(t *testing.T) {
	c := credential{key: "AKID", date: "20261127", region: "us-east-1", service: "sqs"}
	want := deriveSigningKey("secret", c)
	require.Equal(t, want, signingKey("secret", c))
	require.Equal(t, want, signingKey("secret", c), "from the cache")
	other := []func(credential) (string, credential){
		func(c credential) (string, credential) { return "secret2", c },
		func(c credential) (string, credential) { c.date = "20261128"; return "secret", c },
		func(c credential) (string, credential) { c.region = "eu-west-1"; return "secret", c },
		func(c credential) (string, credential) { c.service = "sns"; return "secret", c },
	}
	for _, f := range other {
		secret, c2 := f(c)
		got := signingKey(secret, c2)
		require.NotEqual(t, want, got)
		require.Equal(t, deriveSigningKey(secret, c2), got)
	}
	for i := range 3 * maxSigningKeys {
		signingKey("s"+strconv.Itoa(i), c)
	}
	signingKeys.Lock()
	n := len(signingKeys.m)
	signingKeys.Unlock()
	require.LessOrEqual(t, n, maxSigningKeys)
	require.Equal(t, want, signingKey("secret", c))
}
