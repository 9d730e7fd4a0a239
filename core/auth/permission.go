package auth

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Permission is a user's configure, write and read patterns in a vhost.
type Permission struct {
	User      string `json:"user"`
	Vhost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`

	re  [3]*regexp.Regexp // by Perm
	all [3]bool           // the pattern matches every name (".*"): no regexp run
}

// compilePerm compiles a permission pattern the way RabbitMQ matches it:
// unanchored, with "" meaning "^$".
func compilePerm(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		pattern = "^$"
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadPattern, pattern, err)
	}
	return re, nil
}

func newPermission(user, vhost, configure, write, read string) (*Permission, error) {
	p := &Permission{User: user, Vhost: vhost, Configure: configure, Write: write, Read: read}
	for i, pat := range []string{configure, write, read} {
		re, err := compilePerm(pat)
		if err != nil {
			return nil, fmt.Errorf("%s permission: %w", Perm(i), err)
		}
		p.re[i] = re
		p.all[i] = matchesAll(pat)
	}
	return p, nil
}

// matchesAll reports patterns that match any name, such as ".*", the one
// almost every user has: checking them on each publish needs no regexp.
func matchesAll(pattern string) bool {
	switch pattern {
	case ".*", "^.*", ".*$", "^.*$", "(.*)", "^(.*)$":
		return true
	}
	return false
}

func permKey(user, vhost string) string { return user + "\x00" + vhost }

func putPermission(st *state, b *batch, p *Permission) {
	st.perms[uv{p.User, p.Vhost}] = p
	b.put(kindPerm, permKey(p.User, p.Vhost), p)
}

func deletePermission(st *state, b *batch, k uv) {
	delete(st.perms, k)
	b.del(kindPerm, permKey(k.user, k.vhost))
}

func loadPermission(st *state, val []byte) error {
	var r Permission
	if err := json.Unmarshal(val, &r); err != nil {
		return err
	}
	p, err := newPermission(r.User, r.Vhost, r.Configure, r.Write, r.Read)
	if err != nil {
		return err
	}
	st.perms[uv{p.User, p.Vhost}] = p
	return nil
}

// SetPermissions sets a user's permissions in a vhost (RabbitMQ's
// set_permissions). Patterns must compile; "" grants nothing.
func (s *Store) SetPermissions(user, vhost, configure, write, read string) error {
	p, err := newPermission(user, vhost, configure, write, read)
	if err != nil {
		return err
	}
	return s.update(func(st *state, b *batch) error {
		if err := checkUserVhost(st, user, vhost); err != nil {
			return err
		}
		putPermission(st, b, p)
		return nil
	})
}

func checkUserVhost(st *state, user, vhost string) error {
	if _, ok := st.users[user]; !ok {
		return fmt.Errorf("%w: %q", ErrNoUser, user)
	}
	if _, ok := st.vhosts[vhost]; !ok {
		return fmt.Errorf("%w: %q", ErrNoVhost, vhost)
	}
	return nil
}

// ClearPermissions removes a user's permissions in a vhost; the user then
// has no access to it.
func (s *Store) ClearPermissions(user, vhost string) error {
	return s.update(func(st *state, b *batch) error {
		if _, ok := st.perms[uv{user, vhost}]; ok {
			deletePermission(st, b, uv{user, vhost})
		}
		return nil
	})
}

// Permissions returns a user's permissions in a vhost.
func (s *Store) Permissions(user, vhost string) (Permission, bool) {
	p, ok := s.snap().perms[uv{user, vhost}]
	if !ok {
		return Permission{}, false
	}
	return *p, true
}

// ListPermissions returns every permission sorted by user and vhost;
// user or vhost non-empty filter the list.
func (s *Store) ListPermissions(user, vhost string) []Permission {
	return listPermissions(s.snap(), user, vhost)
}

func listPermissions(st *state, user, vhost string) []Permission {
	var out []Permission
	for k, p := range st.perms {
		if (user == "" || k.user == user) && (vhost == "" || k.vhost == vhost) {
			out = append(out, *p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].User != out[j].User {
			return out[i].User < out[j].User
		}
		return out[i].Vhost < out[j].Vhost
	})
	return out
}

// CheckVhostAccess allows a user into a vhost if the vhost exists and the
// user has permissions there (rabbit_auth_backend_internal:check_vhost_access).
func (s *Store) CheckVhostAccess(user, vhost string) error {
	st := s.snap()
	if _, ok := st.vhosts[vhost]; !ok {
		return &AccessError{User: user, Vhost: vhost, Kind: ResourceVhost}
	}
	if _, ok := st.perms[uv{user, vhost}]; !ok {
		return &AccessError{User: user, Vhost: vhost, Kind: ResourceVhost}
	}
	return nil
}

// Check checks perm on a queue or exchange. The default exchange "" is
// checked as "amq.default"; server-named "amq.gen-…" queues are checked
// like any other name (see the package doc). Faces may cache the result per
// channel, as RabbitMQ does.
func (s *Store) Check(user, vhost string, perm Perm, kind ResourceKind, name string) error {
	if kind == ResourceExchange && name == "" {
		name = "amq.default"
	}
	p, ok := s.snap().perms[uv{user, vhost}]
	if ok && int(perm) < len(p.re) && (p.all[perm] || p.re[perm].MatchString(name)) {
		return nil
	}
	return &AccessError{User: user, Vhost: vhost, Kind: kind, Name: name, Perm: perm}
}

// CheckConfigure checks configure permission (declare, delete).
func (s *Store) CheckConfigure(user, vhost string, kind ResourceKind, name string) error {
	return s.Check(user, vhost, PermConfigure, kind, name)
}

// CheckWrite checks write permission (publish to an exchange, bind a queue).
func (s *Store) CheckWrite(user, vhost string, kind ResourceKind, name string) error {
	return s.Check(user, vhost, PermWrite, kind, name)
}

// CheckRead checks read permission (consume, get, purge, bind from an exchange).
func (s *Store) CheckRead(user, vhost string, kind ResourceKind, name string) error {
	return s.Check(user, vhost, PermRead, kind, name)
}

// TopicPermission restricts the routing keys a user may publish with
// (write) or bind/subscribe with (read) on one exchange of a vhost.
type TopicPermission struct {
	User     string `json:"user"`
	Vhost    string `json:"vhost"`
	Exchange string `json:"exchange"`
	Write    string `json:"write"`
	Read     string `json:"read"`

	re [2]*regexp.Regexp // write, read; nil when the pattern holds variables
}

func newTopicPermission(user, vhost, exchange, write, read string) (*TopicPermission, error) {
	t := &TopicPermission{User: user, Vhost: vhost, Exchange: exchange, Write: write, Read: read}
	for i, pat := range []string{write, read} {
		re, err := compilePerm(pat)
		if err != nil {
			return nil, fmt.Errorf("topic permission: %w", err)
		}
		if !strings.Contains(pat, "{") {
			t.re[i] = re
		}
	}
	return t, nil
}

func topicKey(user, vhost, exchange string) string {
	return user + "\x00" + vhost + "\x00" + exchange
}

func putTopicPermission(st *state, b *batch, t *TopicPermission) {
	k := uv{t.User, t.Vhost}
	if st.topic[k] == nil {
		st.topic[k] = map[string]*TopicPermission{}
	}
	st.topic[k][t.Exchange] = t
	b.put(kindTopicPerm, topicKey(t.User, t.Vhost, t.Exchange), t)
}

// deleteTopicPermissions removes one exchange's, or with exchange "" all,
// topic permissions of (user, vhost).
func deleteTopicPermissions(st *state, b *batch, k uv, exchange string) {
	for x := range st.topic[k] {
		if exchange == "" || x == exchange {
			delete(st.topic[k], x)
			b.del(kindTopicPerm, topicKey(k.user, k.vhost, x))
		}
	}
	if len(st.topic[k]) == 0 {
		delete(st.topic, k)
	}
}

func loadTopicPermission(st *state, val []byte) error {
	var r TopicPermission
	if err := json.Unmarshal(val, &r); err != nil {
		return err
	}
	t, err := newTopicPermission(r.User, r.Vhost, r.Exchange, r.Write, r.Read)
	if err != nil {
		return err
	}
	k := uv{t.User, t.Vhost}
	if st.topic[k] == nil {
		st.topic[k] = map[string]*TopicPermission{}
	}
	st.topic[k][t.Exchange] = t
	return nil
}

// SetTopicPermissions sets a user's topic permissions on an exchange.
func (s *Store) SetTopicPermissions(user, vhost, exchange, write, read string) error {
	t, err := newTopicPermission(user, vhost, exchange, write, read)
	if err != nil {
		return err
	}
	return s.update(func(st *state, b *batch) error {
		if err := checkUserVhost(st, user, vhost); err != nil {
			return err
		}
		putTopicPermission(st, b, t)
		return nil
	})
}

// ClearTopicPermissions removes a user's topic permissions on one exchange
// of a vhost, or on all of them when exchange is "".
func (s *Store) ClearTopicPermissions(user, vhost, exchange string) error {
	return s.update(func(st *state, b *batch) error {
		deleteTopicPermissions(st, b, uv{user, vhost}, exchange)
		return nil
	})
}

// ListTopicPermissions returns topic permissions sorted by user, vhost and
// exchange; user or vhost non-empty filter the list.
func (s *Store) ListTopicPermissions(user, vhost string) []TopicPermission {
	return listTopicPermissions(s.snap(), user, vhost)
}

func listTopicPermissions(st *state, user, vhost string) []TopicPermission {
	var out []TopicPermission
	for k, m := range st.topic {
		if (user != "" && k.user != user) || (vhost != "" && k.vhost != vhost) {
			continue
		}
		for _, t := range m {
			out = append(out, *t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.User != b.User {
			return a.User < b.User
		}
		if a.Vhost != b.Vhost {
			return a.Vhost < b.Vhost
		}
		return a.Exchange < b.Exchange
	})
	return out
}

// CheckTopic checks a routing key against the user's topic permission on
// exchange: write for publishing, read for binding or subscribing. Without a
// topic permission for that exchange the key is allowed. Before matching,
// "{name}" in the pattern is replaced by vars[name]; "username" and "vhost"
// default to user and vhost, and MQTT passes "client_id". As in RabbitMQ the
// values are inserted verbatim, not regexp-quoted.
func (s *Store) CheckTopic(user, vhost, exchange, routingKey string, write bool, vars map[string]string) error {
	t, ok := s.snap().topic[uv{user, vhost}][exchange]
	if !ok {
		return nil
	}
	i, pat, perm := 0, t.Write, PermWrite
	if !write {
		i, pat, perm = 1, t.Read, PermRead
	}
	re := t.re[i]
	if re == nil {
		var err error
		if re, err = s.topicREs.get(expandTopic(pat, user, vhost, vars)); err != nil {
			re = nil // an expansion that does not compile matches nothing
		}
	}
	if re != nil && re.MatchString(routingKey) {
		return nil
	}
	return &AccessError{User: user, Vhost: vhost, Kind: ResourceTopic, Name: exchange, Perm: perm, RoutingKey: routingKey}
}

// TopicFree reports whether no topic permission restricts user on
// exchange in vhost: CheckTopic then allows every routing key.
func (s *Store) TopicFree(user, vhost, exchange string) bool {
	_, ok := s.snap().topic[uv{user, vhost}][exchange]
	return !ok
}

// expandTopic replaces {key} placeholders (rabbit_auth_backend_internal:
// expand_topic_permission).
func expandTopic(pat, user, vhost string, vars map[string]string) string {
	if pat == "" {
		pat = "^$"
	}
	for k, v := range vars {
		pat = strings.ReplaceAll(pat, "{"+k+"}", v)
	}
	if _, ok := vars["username"]; !ok {
		pat = strings.ReplaceAll(pat, "{username}", user)
	}
	if _, ok := vars["vhost"]; !ok {
		pat = strings.ReplaceAll(pat, "{vhost}", vhost)
	}
	return pat
}

// topicCache holds compiled expanded topic patterns. It is cleared when it
// reaches maxTopicREs entries.
type topicCache struct {
	mu sync.Mutex // guards m
	m  map[string]*regexp.Regexp
}

const maxTopicREs = 4096

func (c *topicCache) get(pat string) (*regexp.Regexp, error) {
	c.mu.Lock()
	re, ok := c.m[pat]
	c.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxTopicREs {
		c.m = make(map[string]*regexp.Regexp)
	}
	c.m[pat] = re
	c.mu.Unlock()
	return re, nil
}
