package auth

import (
	"regexp"
	"testing"
)

type regexpT = regexp.Regexp

// Vectors: RabbitMQ's passwords guide (test12, salt 908DC60A, SHA-256) and
// its older MD5 example (simon, salt CAD5089B); SHA-512 computed with
// Python's hashlib for the same salt.
func TestPasswordVectors(t *testing.T) {
	tests := []struct {
		name, pass, hash string
		alg              HashAlgorithm
	}{
		{"sha256 docs", "test12", "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", HashSHA256},
		{"sha512", "test12", "kI3GChuNuIYf8lRbCCxZjgjKwsY19ns6+uFO0zcXRBGA/XGJPYD8OWMy7EB8TaOmAzjP2azv84GbINYwX2cDWb4DHnc=", HashSHA512},
		{"md5 legacy", "simon", "ytUIm8s3AnKsXQjptplKFytfVxI=", HashMD5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.True(t, VerifyPassword(tt.hash, tt.alg, tt.pass))
			assert.False(t, VerifyPassword(tt.hash, tt.alg, tt.pass+"x"))
			assert.False(t, VerifyPassword(tt.hash, tt.alg, ""))
		})
	}
	assert.False(t, VerifyPassword("kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", HashSHA512, "test12"), "wrong algorithm")
	assert.False(t, VerifyPassword("", HashSHA256, ""), "empty hash never matches")
}

func TestHashPassword(t *testing.T) {
	h1, h2 := HashPassword("pw"), HashPassword("pw")
	assert.NotEqual(t, h1, h2, "random salt")
	assert.Len(t, h1, 48) // base64 of 4+32 bytes
	assert.True(t, VerifyPassword(h1, "", "pw"))
	assert.True(t, VerifyPassword(h2, HashSHA256, "pw"))
}

func TestCheckPassword(t *testing.T) {
	s, _, _ := openTest(t)
	require.NoError(t, s.AddUser("alice", "wonder", []string{"management", " management", ""}))
	require.ErrorIs(t, s.AddUser("alice", "x", nil), ErrUserExists)
	require.NoError(t, s.AddUser("cert", "", nil))
	require.NoError(t, s.PutUserHash("old", "ytUIm8s3AnKsXQjptplKFytfVxI=", HashMD5, nil))
	require.ErrorIs(t, s.PutUserHash("bad", "zz", HashSHA256, nil), ErrBadHash)
	require.ErrorIs(t, s.PutUserHash("bad", "", "rabbit_password_hashing_foo", nil), ErrBadHash)

	u, err := s.CheckPassword("alice", "wonder")
	require.NoError(t, err)
	assert.Equal(t, []string{"management"}, u.Tags)
	_, err = s.CheckPassword("old", "simon")
	require.NoError(t, err)

	tests := []struct {
		user, pass string
		want       error
	}{
		{"alice", "wrong", ErrBadPassword},
		{"alice", "", ErrBadPassword},
		{"cert", "", ErrBadPassword},
		{"cert", "anything", ErrBadPassword},
		{"nobody", "x", ErrNoUser},
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.pass, func(t *testing.T) {
			_, err := s.CheckPassword(tt.user, tt.pass)
			require.ErrorIs(t, err, tt.want)
			if tt.pass != "" {
				assert.NotContains(t, err.Error(), tt.pass)
			}
		})
	}

	require.NoError(t, s.SetPassword("alice", "new"))
	_, err = s.CheckPassword("alice", "wonder")
	require.ErrorIs(t, err, ErrBadPassword)
	_, err = s.CheckPassword("alice", "new")
	require.NoError(t, err)
	require.NoError(t, s.SetPassword("alice", ""))
	_, err = s.CheckPassword("alice", "new")
	require.ErrorIs(t, err, ErrBadPassword)
	require.ErrorIs(t, s.SetPassword("nobody", "x"), ErrNoUser)
}
