package auth

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
)

// HashAlgorithm is a RabbitMQ password hashing module name, as written in the
// hashing_algorithm field of definitions files.
type HashAlgorithm string

// The hashing algorithms RabbitMQ ships.
const (
	HashSHA256 HashAlgorithm = "rabbit_password_hashing_sha256"
	HashSHA512 HashAlgorithm = "rabbit_password_hashing_sha512"
	// HashMD5 is RabbitMQ's legacy algorithm; a definitions file whose user
	// has no hashing_algorithm means MD5 (rabbit_password:hashing_mod/1).
	HashMD5 HashAlgorithm = "rabbit_password_hashing_md5"
)

const saltLen = 4 // RabbitMQ salts are 32 bits

func (a HashAlgorithm) newHash() (hash.Hash, error) {
	switch a {
	case HashSHA256:
		return sha256.New(), nil
	case HashSHA512:
		return sha512.New(), nil
	case HashMD5:
		return md5.New(), nil
	}
	return nil, fmt.Errorf("%w: unknown hashing algorithm %q", ErrBadHash, string(a))
}

// HashPassword returns password hashed as RabbitMQ does by default:
// base64(salt ‖ SHA-256(salt ‖ utf8 password)) with a random 4-byte salt.
func HashPassword(password string) string {
	var salt [saltLen]byte
	_, _ = rand.Read(salt[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(saltedHash(HashSHA256, salt[:], password))
}

// saltedHash returns salt ‖ H(salt ‖ password); alg must be valid.
func saltedHash(alg HashAlgorithm, salt []byte, password string) []byte {
	h, err := alg.newHash()
	if err != nil {
		return nil
	}
	h.Write(salt)
	h.Write([]byte(password))
	out := make([]byte, 0, len(salt)+h.Size())
	out = append(out, salt...)
	return h.Sum(out)
}

// decodeHash checks a base64 password hash against alg and returns its
// bytes. An empty hash means "no password" and decodes to nil.
func decodeHash(b64 string, alg HashAlgorithm) ([]byte, error) {
	h, err := alg.newHash()
	if err != nil {
		return nil, err
	}
	if b64 == "" {
		return nil, nil
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrBadHash)
	}
	if len(raw) != saltLen+h.Size() {
		return nil, fmt.Errorf("%w: %d bytes, want %d for %s", ErrBadHash, len(raw), saltLen+h.Size(), alg)
	}
	return raw, nil
}

// verifyHash reports whether password matches the decoded salted hash, in
// time independent of where the bytes differ.
func verifyHash(raw []byte, alg HashAlgorithm, password string) bool {
	if len(raw) <= saltLen {
		return false
	}
	got := saltedHash(alg, raw[:saltLen], password)
	return subtle.ConstantTimeCompare(got, raw) == 1
}

// VerifyPassword reports whether password matches a RabbitMQ password hash
// (base64) made with alg ("" means SHA-256). It never matches an empty hash.
func VerifyPassword(hashB64 string, alg HashAlgorithm, password string) bool {
	if alg == "" {
		alg = HashSHA256
	}
	raw, err := decodeHash(hashB64, alg)
	if err != nil || raw == nil {
		return false
	}
	return verifyHash(raw, alg, password)
}
