package auth

import (
	"crypto/cipher"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
)

// DefStore is the part of the durable store (core/store.Store, persist.DB)
// that the auth store writes through.
type DefStore interface {
	// PutDef durably stores a definition record.
	PutDef(kind, key string, val []byte) error
	// DeleteDef removes a definition record.
	DeleteDef(kind, key string) error
	// Defs calls fn for every record of a kind, in key order.
	Defs(kind string, fn func(key string, val []byte) error) error
}

// Record kinds written through DefStore.
const (
	kindUser      = "user"
	kindVhost     = "vhost"
	kindPerm      = "permission"
	kindTopicPerm = "topic_permission"
	kindPolicy    = "policy"
	kindOpPolicy  = "operator_policy"
	kindAWSKey    = "awskey"
	kindAccount   = "account"
	kindMeta      = "meta"
	metaSeeded    = "auth.seeded"
)

// Default names used when Options leave them empty.
const (
	DefaultUser      = "guest"
	DefaultPassword  = "guest"
	DefaultVhost     = "/"
	DefaultAccessKey = "test"
	DefaultSecretKey = "test"
	// DefaultAccount is the AWS account id that maps to DefaultVhost in
	// every region (LocalStack's convention).
	DefaultAccount = "000000000000"
)

// Options configure a Store. The zero value is usable except for KeyFile,
// which is required.
type Options struct {
	// KeyFile is the path of the AES-256 key that encrypts AWS secret keys at
	// rest, normally <data-dir>/auth.key. It is created (mode 0600) if absent.
	KeyFile string
	// LoopbackUsers may only connect from loopback addresses (RabbitMQ's
	// loopback_users). nil means {"guest"}; an empty non-nil slice means none.
	LoopbackUsers []string
	// DefaultUser and DefaultPassword are created on first open (guest/guest).
	DefaultUser, DefaultPassword string
	// DefaultAccessKey and DefaultSecretKey are the default user's AWS key
	// pair created on first open (test/test).
	DefaultAccessKey, DefaultSecretKey string
}

func (o *Options) fill() {
	if o.LoopbackUsers == nil {
		o.LoopbackUsers = []string{DefaultUser}
	}
	if o.DefaultUser == "" {
		o.DefaultUser, o.DefaultPassword = DefaultUser, DefaultPassword
	}
	if o.DefaultAccessKey == "" {
		o.DefaultAccessKey, o.DefaultSecretKey = DefaultAccessKey, DefaultSecretKey
	}
}

// Store is the user, vhost, permission and policy store. All methods are
// safe for concurrent use.
type Store struct {
	ds       DefStore
	opts     Options
	aead     cipher.AEAD
	loopback map[string]bool // immutable after Open

	wmu sync.Mutex // serialises mutations and their DefStore writes
	cur atomic.Pointer[state]
	gen atomic.Uint64 // bumped after each snapshot cur publishes (Generation)

	topicREs topicCache
}

// uv keys per-(user, vhost) records.
type uv struct{ user, vhost string }

// acct keys the AWS account mapping; region "" matches every region.
type acct struct{ account, region string }

// state is one immutable snapshot. Mutations clone it, edit the clone and
// publish it; nothing reachable from a published state is modified.
type state struct {
	users      map[string]*User
	vhosts     map[string]*Vhost
	perms      map[uv]*Permission
	topic      map[uv]map[string]*TopicPermission // exchange →
	policies   map[string]map[string]*Policy      // vhost → name →
	opPolicies map[string]map[string]*Policy
	keys       map[string]*accessKey // access key id →
	accounts   map[acct]string       // → vhost
}

func newState() *state {
	return &state{
		users: map[string]*User{}, vhosts: map[string]*Vhost{},
		perms: map[uv]*Permission{}, topic: map[uv]map[string]*TopicPermission{},
		policies: map[string]map[string]*Policy{}, opPolicies: map[string]map[string]*Policy{},
		keys: map[string]*accessKey{}, accounts: map[acct]string{},
	}
}

func (st *state) clone() *state {
	n := &state{
		users: maps.Clone(st.users), vhosts: maps.Clone(st.vhosts),
		perms: maps.Clone(st.perms), keys: maps.Clone(st.keys),
		accounts: maps.Clone(st.accounts),
		topic:    make(map[uv]map[string]*TopicPermission, len(st.topic)),
		policies: cloneNested(st.policies), opPolicies: cloneNested(st.opPolicies),
	}
	for k, m := range st.topic {
		n.topic[k] = maps.Clone(m)
	}
	return n
}

func cloneNested(m map[string]map[string]*Policy) map[string]map[string]*Policy {
	n := make(map[string]map[string]*Policy, len(m))
	for k, v := range m {
		n[k] = maps.Clone(v)
	}
	return n
}

// Open loads every auth record from ds. On first open (no records at all) it
// creates the defaults: vhost "/", the default user with tag administrator
// and permissions ".*" ".*" ".*" on "/", that user's AWS access key pair and
// the mapping of account 000000000000 (every region) to "/".
func Open(ds DefStore, o Options) (*Store, error) {
	o.fill()
	aead, err := loadKeyFile(o.KeyFile)
	if err != nil {
		return nil, err
	}
	s := &Store{ds: ds, opts: o, aead: aead, loopback: map[string]bool{}}
	for _, u := range o.LoopbackUsers {
		s.loopback[u] = true
	}
	st, seeded, err := s.load()
	if err != nil {
		return nil, err
	}
	s.cur.Store(st)
	if !seeded {
		if err := s.seed(); err != nil {
			return nil, fmt.Errorf("auth: creating defaults: %w", err)
		}
	}
	return s, nil
}

func (s *Store) snap() *state { return s.cur.Load() }

// update applies fn to a clone of the current state, writes the records fn
// queued and publishes the clone. Nothing is published if fn or a write fails.
func (s *Store) update(fn func(st *state, b *batch) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	st := s.snap().clone()
	var b batch
	if err := fn(st, &b); err != nil {
		return err
	}
	if err := b.commit(s.ds); err != nil {
		return err
	}
	s.cur.Store(st)
	s.gen.Add(1)
	return nil
}

// Generation changes whenever users, vhosts, permissions, topic
// permissions or policies change: a caller that remembers a check's
// result while Generation stays the same (read before the check) sees
// every change at its next check.
func (s *Store) Generation() uint64 { return s.gen.Load() }

// batch collects the record writes of one mutation.
type batch struct {
	ops []defOp
	err error
}

type defOp struct {
	kind, key string
	val       []byte // nil: delete
}

func (b *batch) put(kind, key string, v any) {
	val, err := json.Marshal(v)
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("auth: encoding %s %q: %w", kind, key, err)
	}
	b.ops = append(b.ops, defOp{kind: kind, key: key, val: val})
}

func (b *batch) del(kind, key string) {
	b.ops = append(b.ops, defOp{kind: kind, key: key})
}

func (b *batch) commit(ds DefStore) error {
	if b.err != nil {
		return b.err
	}
	for _, op := range b.ops {
		var err error
		if op.val == nil {
			err = ds.DeleteDef(op.kind, op.key)
		} else {
			err = ds.PutDef(op.kind, op.key, op.val)
		}
		if err != nil {
			return fmt.Errorf("auth: writing %s record: %w", op.kind, err)
		}
	}
	return nil
}

// seed marks the store as seeded and, if it holds no users or vhosts,
// creates the first-open defaults.
func (s *Store) seed() error {
	o := s.opts
	return s.update(func(st *state, b *batch) error {
		b.put(kindMeta, metaSeeded, true)
		if len(st.users) > 0 || len(st.vhosts) > 0 {
			return nil // records exist (written before the marker): not a fresh store
		}
		{
			putVhost(st, b, &Vhost{Name: DefaultVhost, Description: "Default virtual host", DefaultQueueType: "classic"})
		}
		{
			raw, _ := decodeHash(HashPassword(o.DefaultPassword), HashSHA256)
			putUser(st, b, &User{Name: o.DefaultUser, Tags: []string{TagAdministrator}, hash: raw, alg: HashSHA256})
			p, err := newPermission(o.DefaultUser, DefaultVhost, ".*", ".*", ".*")
			if err != nil {
				return err
			}
			putPermission(st, b, p)
			if err := s.putAccessKey(st, b, o.DefaultUser, o.DefaultAccessKey, o.DefaultSecretKey); err != nil {
				return err
			}
		}
		putAccount(st, b, DefaultAccount, "", DefaultVhost)
		return nil
	})
}

// load reads every record kind into a fresh state.
func (s *Store) load() (*state, bool, error) {
	st := newState()
	seeded := false
	err := s.ds.Defs(kindMeta, func(key string, _ []byte) error {
		if key == metaSeeded {
			seeded = true
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("auth: loading meta: %w", err)
	}
	loaders := []struct {
		kind string
		fn   func(st *state, val []byte) error
	}{
		{kindVhost, loadVhost}, {kindUser, loadUser}, {kindPerm, loadPermission},
		{kindTopicPerm, loadTopicPermission}, {kindPolicy, loadPolicy(false)},
		{kindOpPolicy, loadPolicy(true)}, {kindAWSKey, s.loadAccessKey}, {kindAccount, loadAccount},
	}
	for _, l := range loaders {
		err := s.ds.Defs(l.kind, func(key string, val []byte) error {
			if err := l.fn(st, val); err != nil {
				return fmt.Errorf("%s %q: %w", l.kind, key, err)
			}
			return nil
		})
		if err != nil {
			return nil, false, fmt.Errorf("auth: loading: %w", err)
		}
	}
	return st, seeded, nil
}
