package auth

import (
	"errors"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

// memDefs is an in-memory DefStore.
type memDefs struct {
	mu   sync.Mutex // guards m and fail
	m    map[string]map[string][]byte
	fail error // returned by PutDef when set
}

func newMemDefs() *memDefs { return &memDefs{m: map[string]map[string][]byte{}} }

func (d *memDefs) PutDef(kind, key string, val []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	if d.m[kind] == nil {
		d.m[kind] = map[string][]byte{}
	}
	d.m[kind][key] = append([]byte(nil), val...)
	return nil
}

func (d *memDefs) DeleteDef(kind, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.m[kind], key)
	return nil
}

func (d *memDefs) Defs(kind string, fn func(key string, val []byte) error) error {
	d.mu.Lock()
	keys := make([]string, 0, len(d.m[kind]))
	for k := range d.m[kind] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = d.m[kind][k]
	}
	d.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

func (d *memDefs) count(kind string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m[kind])
}

func testOptions(t *testing.T) Options {
	return Options{KeyFile: filepath.Join(t.TempDir(), "auth.key")}
}

func openTest(t *testing.T) (*Store, *memDefs, Options) {
	t.Helper()
	ds, o := newMemDefs(), testOptions(t)
	s, err := Open(ds, o)
	require.NoError(t, err)
	return s, ds, o
}

func TestDefaultsOnFirstOpen(t *testing.T) {
	s, _, _ := openTest(t)
	v, ok := s.Vhost("/")
	require.True(t, ok)
	assert.Equal(t, "classic", v.DefaultQueueType)

	u, err := s.CheckPassword("guest", "guest")
	require.NoError(t, err)
	assert.True(t, u.IsAdmin())
	assert.Equal(t, HashSHA256, u.HashingAlgorithm())

	p, ok := s.Permissions("guest", "/")
	require.True(t, ok)
	assert.Equal(t, Permission{User: "guest", Vhost: "/", Configure: ".*", Write: ".*", Read: ".*"}, stripRE(p))
	require.NoError(t, s.CheckVhostAccess("guest", "/"))

	user, secret, ok := s.LookupAccessKey("test")
	require.True(t, ok)
	assert.Equal(t, "guest", user)
	assert.Equal(t, "test", secret)

	assert.True(t, s.LoopbackOnly("guest"))
	vh, ok := s.VhostForAccount(DefaultAccount, "eu-west-1")
	assert.True(t, ok)
	assert.Equal(t, "/", vh)
	assert.Equal(t, DefaultAccount, s.AccountForVhost("/"))
}

func stripRE(p Permission) Permission {
	p.re, p.all = [3]*regexpT{}, [3]bool{}
	return p
}

func TestReopenPersists(t *testing.T) {
	s, ds, o := openTest(t)
	require.NoError(t, s.PutVhost(Vhost{Name: "prod", Description: "production", Tags: []string{"a"}, DefaultQueueType: "quorum"}))
	require.NoError(t, s.AddUser("bob", "s3cret", []string{"monitoring"}))
	require.NoError(t, s.SetPermissions("bob", "prod", "^bob\\.", "", ".*"))
	require.NoError(t, s.SetTopicPermissions("bob", "prod", "amq.topic", "^x", "^y"))
	require.NoError(t, s.PutPolicy(Policy{Vhost: "prod", Name: "ttl", Pattern: ".*", ApplyTo: "queues", Definition: map[string]any{"message-ttl": 1000.0}}))
	require.NoError(t, s.AddAccessKey("bob", "AKIABOB", "bobsecret"))
	require.NoError(t, s.MapAccount("111122223333", "us-east-1", "prod"))
	require.NoError(t, s.DeleteUser("guest"))

	s2, err := Open(ds, o)
	require.NoError(t, err)
	_, ok := s2.User("guest")
	assert.False(t, ok, "deleted default user must not come back")
	_, err = s2.CheckPassword("bob", "s3cret")
	require.NoError(t, err)
	v, _ := s2.Vhost("prod")
	assert.Equal(t, &Vhost{Name: "prod", Description: "production", Tags: []string{"a"}, DefaultQueueType: "quorum"}, v)
	require.NoError(t, s2.CheckRead("bob", "prod", ResourceQueue, "anything"))
	require.Error(t, s2.CheckWrite("bob", "prod", ResourceExchange, "x"))
	require.Error(t, s2.CheckTopic("bob", "prod", "amq.topic", "z", true, nil))
	assert.Equal(t, int64(1000), s2.EffectivePolicy("prod", "q", KindClassicQueue).Definition["message-ttl"])
	u, sec, ok := s2.LookupAccessKey("AKIABOB")
	assert.True(t, ok)
	assert.Equal(t, "bob", u)
	assert.Equal(t, "bobsecret", sec)
	_, _, ok = s2.LookupAccessKey("test")
	assert.False(t, ok, "guest's key went with guest")
	vh, _ := s2.VhostForAccount("111122223333", "us-east-1")
	assert.Equal(t, "prod", vh)
	_, ok = s2.VhostForAccount("111122223333", "eu-west-1")
	assert.False(t, ok)
}

func TestFailedWriteLeavesStateUnchanged(t *testing.T) {
	s, ds, _ := openTest(t)
	ds.fail = errors.New("disk full")
	require.Error(t, s.AddUser("bob", "x", nil))
	_, ok := s.User("bob")
	assert.False(t, ok)
}

func TestDeleteVhostCascades(t *testing.T) {
	s, ds, _ := openTest(t)
	require.NoError(t, s.PutPolicy(Policy{Vhost: "/", Name: "p", Pattern: ".*", Definition: map[string]any{"max-length": 1}}))
	require.NoError(t, s.SetTopicPermissions("guest", "/", "amq.topic", ".*", ".*"))
	require.NoError(t, s.DeleteVhost("/"))
	for _, k := range []string{kindVhost, kindPerm, kindTopicPerm, kindPolicy, kindAccount} {
		assert.Zero(t, ds.count(k), k)
	}
	require.ErrorIs(t, s.CheckVhostAccess("guest", "/"), ErrAccessRefused)
	require.ErrorIs(t, s.SetPermissions("guest", "/", ".*", ".*", ".*"), ErrNoVhost)
}

func TestUserSecretsNotShown(t *testing.T) {
	s, _, _ := openTest(t)
	u, _ := s.User("guest")
	js, err := u.MarshalJSON()
	require.NoError(t, err)
	assert.NotContains(t, string(js), u.PasswordHash())
	assert.NotContains(t, u.String(), u.PasswordHash())
	assert.JSONEq(t, `{"name":"guest","tags":["administrator"]}`, string(js))
}

func TestConcurrentReadsAndWrites(t *testing.T) {
	s, _, _ := openTest(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				if i%2 == 0 {
					_ = s.SetPermissions("guest", "/", ".*", ".*", ".*")
				} else {
					_ = s.CheckWrite("guest", "/", ResourceExchange, "x")
					_, _ = s.CheckPassword("guest", "guest")
					_ = j
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCheckWriteAll(b *testing.B) {
	s, err := Open(newMemDefs(), Options{KeyFile: b.TempDir() + "/k"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := s.CheckWrite("guest", "/", ResourceExchange, "amq.topic"); err != nil {
			b.Fatal(err)
		}
	}
}
