package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// accessKey is one AWS access key pair. The secret is held decrypted in
// memory (SigV4 needs it) and encrypted in its record.
type accessKey struct {
	user   string
	secret string
}

// awsKeyRecord is the persisted form of an access key.
type awsKeyRecord struct {
	ID   string `json:"id"`
	User string `json:"user"`
	// Secret is base64(nonce ‖ AES-256-GCM ciphertext).
	Secret string `json:"secret_enc"`
}

const keyFileLen = 32

// loadKeyFile reads the hex AES-256 key at path, creating it (0600) if
// the file does not exist.
func loadKeyFile(path string) (cipher.AEAD, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: Options.KeyFile is required", ErrKeyFile)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != keyFileLen {
		return nil, fmt.Errorf("%w: %s: want %d hex-encoded bytes", ErrKeyFile, path, keyFileLen)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	return cipher.NewGCM(block)
}

func createKeyFile(path string) ([]byte, error) {
	var key [keyFileLen]byte
	_, _ = rand.Read(key[:])
	data := []byte(hex.EncodeToString(key[:]) + "\n")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // lost a race with another creator
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return data, f.Close()
}

// keyAAD binds a ciphertext to its access key id and user.
func keyAAD(id, user string) []byte {
	return []byte("junction/awskey\x00" + id + "\x00" + user)
}

func (s *Store) sealSecret(id, user, secret string) string {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(secret)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(secret), keyAAD(id, user)))
}

func (s *Store) openSecret(id, user, sealed string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", fmt.Errorf("%w: access key %q: malformed ciphertext", ErrKeyFile, id)
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], keyAAD(id, user))
	if err != nil {
		return "", fmt.Errorf("%w: access key %q: cannot decrypt its secret: %s is not the key it was stored with",
			ErrKeyFile, id, s.opts.KeyFile)
	}
	return string(plain), nil
}

func (s *Store) putAccessKey(st *state, b *batch, user, id, secret string) error {
	if id == "" || secret == "" {
		return fmt.Errorf("%w: empty access key id or secret", ErrBadName)
	}
	st.keys[id] = &accessKey{user: user, secret: secret}
	b.put(kindAWSKey, id, awsKeyRecord{ID: id, User: user, Secret: s.sealSecret(id, user, secret)})
	return nil
}

func (s *Store) loadAccessKey(st *state, val []byte) error {
	var r awsKeyRecord
	if err := json.Unmarshal(val, &r); err != nil {
		return err
	}
	secret, err := s.openSecret(r.ID, r.User, r.Secret)
	if err != nil {
		return err
	}
	st.keys[r.ID] = &accessKey{user: r.User, secret: secret}
	return nil
}

// AddAccessKey gives user the AWS access key pair (id, secret).
func (s *Store) AddAccessKey(user, id, secret string) error {
	return s.update(func(st *state, b *batch) error {
		if _, ok := st.users[user]; !ok {
			return fmt.Errorf("%w: %q", ErrNoUser, user)
		}
		if _, ok := st.keys[id]; ok {
			return fmt.Errorf("%w: %q", ErrAccessKeyExists, id)
		}
		return s.putAccessKey(st, b, user, id, secret)
	})
}

// NewAccessKey creates a random AWS-shaped key pair for user (a 20-character
// id starting "AKIA" and a 40-character secret) and returns it.
func (s *Store) NewAccessKey(user string) (id, secret string, err error) {
	const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	buf := make([]byte, 16+30)
	_, _ = rand.Read(buf)
	var sb strings.Builder
	sb.WriteString("AKIA")
	for _, c := range buf[:16] {
		sb.WriteByte(idChars[int(c)%len(idChars)])
	}
	id = sb.String()
	secret = base64.StdEncoding.EncodeToString(buf[16:])
	if err := s.AddAccessKey(user, id, secret); err != nil {
		return "", "", err
	}
	return id, secret, nil
}

// DeleteAccessKey removes an AWS access key.
func (s *Store) DeleteAccessKey(id string) error {
	return s.update(func(st *state, b *batch) error {
		if _, ok := st.keys[id]; !ok {
			return fmt.Errorf("%w: %q", ErrNoAccessKey, id)
		}
		delete(st.keys, id)
		b.del(kindAWSKey, id)
		return nil
	})
}

// LookupAccessKey returns the user and secret of an AWS access key id, for
// SigV4 verification. The secret must not be logged.
func (s *Store) LookupAccessKey(id string) (user, secret string, ok bool) {
	k, ok := s.snap().keys[id]
	if !ok {
		return "", "", false
	}
	return k.user, k.secret, true
}

// AccessKeys returns the access key ids of user ("" = all users), sorted.
func (s *Store) AccessKeys(user string) []string {
	var out []string
	for id, k := range s.snap().keys {
		if user == "" || k.user == user {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
