package auth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// User tags RabbitMQ knows; other tags are kept and shown but grant nothing.
const (
	TagAdministrator = "administrator"
	TagMonitoring    = "monitoring"
	TagManagement    = "management"
	TagPolicymaker   = "policymaker"
	TagImpersonator  = "impersonator"
)

// User is a broker user. Values returned by the Store are copies.
//
// The password hash is not exported: PasswordHash gives it to the
// definitions export and management API, and String and MarshalJSON never
// include it.
type User struct {
	Name   string
	Tags   []string
	Limits map[string]int64 // max-connections, max-channels

	hash []byte // salt ‖ digest; nil: no password (certificate login only)
	alg  HashAlgorithm
}

// HasPassword reports whether the user can log in with a password.
func (u *User) HasPassword() bool { return u.hash != nil }

// PasswordHash returns the base64 RabbitMQ password hash ("" if none).
func (u *User) PasswordHash() string {
	if u.hash == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(u.hash)
}

// HashingAlgorithm returns the RabbitMQ hashing module of PasswordHash.
func (u *User) HashingAlgorithm() HashAlgorithm { return u.alg }

// HasTag reports whether the user carries tag.
func (u *User) HasTag(tag string) bool { return slices.Contains(u.Tags, tag) }

// IsAdmin reports whether the user has the administrator tag.
func (u *User) IsAdmin() bool { return u.HasTag(TagAdministrator) }

// String describes the user without secrets.
func (u *User) String() string {
	return fmt.Sprintf("user %q [%s]", u.Name, strings.Join(u.Tags, ","))
}

// MarshalJSON writes name, tags and limits only; never the password hash.
func (u *User) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name   string           `json:"name"`
		Tags   []string         `json:"tags"`
		Limits map[string]int64 `json:"limits,omitempty"`
	}{u.Name, u.tagList(), u.Limits})
}

func (u *User) tagList() []string {
	if u.Tags == nil {
		return []string{}
	}
	return u.Tags
}

func (u *User) clone() *User {
	c := *u
	c.Tags = slices.Clone(u.Tags)
	c.Limits = maps.Clone(u.Limits)
	return &c
}

// userRecord is the persisted form.
type userRecord struct {
	Name             string           `json:"name"`
	PasswordHash     string           `json:"password_hash"`
	HashingAlgorithm HashAlgorithm    `json:"hashing_algorithm"`
	Tags             []string         `json:"tags"`
	Limits           map[string]int64 `json:"limits,omitempty"`
}

func putUser(st *state, b *batch, u *User) {
	st.users[u.Name] = u
	b.put(kindUser, u.Name, userRecord{u.Name, u.PasswordHash(), u.alg, u.Tags, u.Limits})
}

func loadUser(st *state, val []byte) error {
	var r userRecord
	if err := json.Unmarshal(val, &r); err != nil {
		return err
	}
	raw, err := decodeHash(r.PasswordHash, r.HashingAlgorithm)
	if err != nil {
		return err
	}
	st.users[r.Name] = &User{Name: r.Name, Tags: r.Tags, Limits: r.Limits, hash: raw, alg: r.HashingAlgorithm}
	return nil
}

// normTags trims, drops empty and duplicate tags, keeping order.
func normTags(tags []string) []string {
	out := []string{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// User returns a copy of the named user.
func (s *Store) User(name string) (*User, bool) {
	u, ok := s.snap().users[name]
	if !ok {
		return nil, false
	}
	return u.clone(), true
}

// Users returns copies of all users sorted by name.
func (s *Store) Users() []*User { return listUsers(s.snap()) }

func listUsers(st *state) []*User {
	out := make([]*User, 0, len(st.users))
	for _, u := range st.users {
		out = append(out, u.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AddUser creates a user; password "" creates a user without a password.
// It fails with ErrUserExists if the name is taken.
func (s *Store) AddUser(name, password string, tags []string) error {
	return s.putUser(name, password, tags, false)
}

// PutUser creates or replaces a user with a clear-text password ("" = no
// password), keeping its limits. Permissions are not touched.
func (s *Store) PutUser(name, password string, tags []string) error {
	return s.putUser(name, password, tags, true)
}

func (s *Store) putUser(name, password string, tags []string, replace bool) error {
	var raw []byte
	if password != "" {
		raw, _ = decodeHash(HashPassword(password), HashSHA256)
	}
	return s.putUserRaw(name, raw, HashSHA256, tags, replace)
}

// PutUserHash creates or replaces a user from a RabbitMQ password hash
// (base64; "" = no password) and its hashing algorithm ("" = SHA-256).
func (s *Store) PutUserHash(name, passwordHash string, alg HashAlgorithm, tags []string) error {
	if alg == "" {
		alg = HashSHA256
	}
	raw, err := decodeHash(passwordHash, alg)
	if err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	return s.putUserRaw(name, raw, alg, tags, true)
}

func (s *Store) putUserRaw(name string, raw []byte, alg HashAlgorithm, tags []string, replace bool) error {
	if name == "" {
		return fmt.Errorf("%w: empty user name", ErrBadName)
	}
	return s.update(func(st *state, b *batch) error {
		old, exists := st.users[name]
		if exists && !replace {
			return fmt.Errorf("%w: %q", ErrUserExists, name)
		}
		u := &User{Name: name, Tags: normTags(tags), hash: raw, alg: alg}
		if exists {
			u.Limits = maps.Clone(old.Limits)
		}
		putUser(st, b, u)
		return nil
	})
}

// editUser applies fn to a copy of an existing user and stores it.
func (s *Store) editUser(name string, fn func(u *User)) error {
	return s.update(func(st *state, b *batch) error {
		old, ok := st.users[name]
		if !ok {
			return fmt.Errorf("%w: %q", ErrNoUser, name)
		}
		u := old.clone()
		fn(u)
		putUser(st, b, u)
		return nil
	})
}

// SetPassword changes a user's password (hashed with SHA-256); "" clears it,
// leaving a user that can only log in without a password (e.g. EXTERNAL).
func (s *Store) SetPassword(name, password string) error {
	var raw []byte
	if password != "" {
		raw, _ = decodeHash(HashPassword(password), HashSHA256)
	}
	return s.editUser(name, func(u *User) { u.hash, u.alg = raw, HashSHA256 })
}

// SetTags replaces a user's tags.
func (s *Store) SetTags(name string, tags []string) error {
	return s.editUser(name, func(u *User) { u.Tags = normTags(tags) })
}

// SetUserLimits replaces a user's limits (max-connections, max-channels);
// nil clears them.
func (s *Store) SetUserLimits(name string, limits map[string]int64) error {
	return s.editUser(name, func(u *User) { u.Limits = maps.Clone(limits) })
}

// DeleteUser removes a user with its permissions, topic permissions and
// AWS access keys.
func (s *Store) DeleteUser(name string) error {
	return s.update(func(st *state, b *batch) error {
		if _, ok := st.users[name]; !ok {
			return fmt.Errorf("%w: %q", ErrNoUser, name)
		}
		delete(st.users, name)
		b.del(kindUser, name)
		for k := range st.perms {
			if k.user == name {
				deletePermission(st, b, k)
			}
		}
		for k := range st.topic {
			if k.user == name {
				deleteTopicPermissions(st, b, k, "")
			}
		}
		for id, k := range st.keys {
			if k.user == name {
				delete(st.keys, id)
				b.del(kindAWSKey, id)
			}
		}
		return nil
	})
}

// dummyHash is verified against when the user does not exist, so that a
// failed login takes the same time whether or not the name is known.
var dummyHash, _ = decodeHash(HashPassword("junction-dummy"), HashSHA256)

// CheckPassword authenticates a user by password. It returns ErrNoUser or
// ErrBadPassword (also for users without a password); the password is never
// part of the error.
func (s *Store) CheckPassword(name, password string) (*User, error) {
	u, ok := s.snap().users[name]
	if !ok {
		verifyHash(dummyHash, HashSHA256, password)
		return nil, fmt.Errorf("%w: %q", ErrNoUser, name)
	}
	if u.hash == nil {
		verifyHash(dummyHash, HashSHA256, password)
		return nil, fmt.Errorf("%w: user %q has no password", ErrBadPassword, name)
	}
	if !verifyHash(u.hash, u.alg, password) {
		return nil, fmt.Errorf("%w: user %q", ErrBadPassword, name)
	}
	return u.clone(), nil
}
