// Package memcore is TEST SCAFFOLDING ONLY: a small in-memory broker that
// implements amqp.Broker well enough to drive amqp091-go through declare,
// bind, publish, consume, ack and get. It is not the core: no persistence,
// no TTL, no dead-lettering, no headers-exchange subtleties. The AMQP
// face's tests move to the real core once the lead wires core.Broker.
package memcore

import (
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core/message"
)

// Broker is the fake broker: users and vhosts.
type Broker struct {
	mu     sync.Mutex // guards users, vhosts
	users  map[string]string
	vhosts map[string]*vhost
}

// New returns a broker with user guest/guest and vhost "/".
func New() *Broker {
	b := &Broker{users: map[string]string{"guest": "guest"}, vhosts: map[string]*vhost{}}
	b.AddVhost("/")
	return b
}

// AddUser adds a user.
func (b *Broker) AddUser(user, password string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.users[user] = password
}

// AddVhost adds a vhost with the predeclared exchanges.
func (b *Broker) AddVhost(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := &vhost{name: name, exchanges: map[string]*exchange{}, queues: map[string]*queue{}}
	for n, t := range map[string]string{"": "direct", "amq.direct": "direct", "amq.fanout": "fanout",
		"amq.topic": "topic", "amq.headers": "headers", "amq.match": "headers"} {
		v.exchanges[n] = &exchange{name: n, typ: t, durable: true}
	}
	b.vhosts[name] = v
}

// Authenticate implements amqp.Broker.
func (b *Broker) Authenticate(user, password string, _ net.Addr) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.users[user]; !ok || p != password {
		return amqp.ErrAuthFailed
	}
	return nil
}

// OpenVhost implements amqp.Broker.
func (b *Broker) OpenVhost(user, name string, conn amqp.ConnInfo) (amqp.Vhost, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.vhosts[name]
	if !ok {
		return nil, amqp.ErrVhostNotFound
	}
	return &session{v: v, conn: conn.ID}, nil
}

// QueueDepth returns a queue's ready and unacked counts, for tests.
func (b *Broker) QueueDepth(vh, name string) (ready, unacked int, ok bool) {
	b.mu.Lock()
	v := b.vhosts[vh]
	b.mu.Unlock()
	if v == nil {
		return 0, 0, false
	}
	v.mu.Lock()
	q := v.queues[name]
	v.mu.Unlock()
	if q == nil {
		return 0, 0, false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready), len(q.unacked), true
}

type vhost struct {
	name      string
	mu        sync.Mutex // guards exchanges, queues and exchange bindings
	exchanges map[string]*exchange
	queues    map[string]*queue
}

type exchange struct {
	name, typ                   string
	durable, autoDelete, intern bool
	bindings                    []binding
}

type binding struct {
	dest       string
	toExchange bool
	key        string
	args       message.Table
}

type session struct {
	v    *vhost
	conn uint64
}

func (s *session) Name() string { return s.v.name }

func inequivalent(kind, name, vh, arg string, got, cur bool) error {
	return fmt.Errorf("%w: inequivalent arg '%s' for %s '%s' in vhost '%s': received '%t' but current is '%t'",
		amqp.ErrInequivalent, arg, kind, name, vh, got, cur)
}

func (s *session) DeclareExchange(d amqp.ExchangeDecl) error {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	x, ok := s.v.exchanges[d.Name]
	if d.Passive {
		if !ok {
			return amqp.ErrExchangeNotFound
		}
		return nil
	}
	switch d.Type {
	case "direct", "fanout", "topic", "headers":
	default:
		return fmt.Errorf("%w: invalid exchange type '%s'", amqp.ErrExchangeType, d.Type)
	}
	if ok {
		if x.typ != d.Type {
			return fmt.Errorf("%w: inequivalent arg 'type' for exchange '%s' in vhost '%s': received '%s' but current is '%s'",
				amqp.ErrInequivalent, d.Name, s.v.name, d.Type, x.typ)
		}
		if x.durable != d.Durable {
			return inequivalent("exchange", d.Name, s.v.name, "durable", d.Durable, x.durable)
		}
		return nil
	}
	s.v.exchanges[d.Name] = &exchange{name: d.Name, typ: d.Type, durable: d.Durable, autoDelete: d.AutoDelete, intern: d.Internal}
	return nil
}

func (s *session) DeleteExchange(name string, ifUnused bool) error {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	x, ok := s.v.exchanges[name]
	if !ok {
		return amqp.ErrExchangeNotFound
	}
	if ifUnused && len(x.bindings) > 0 {
		return amqp.ErrInUse
	}
	delete(s.v.exchanges, name)
	return nil
}

func (s *session) BindExchange(dst, src, key string, args message.Table) error {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	if _, ok := s.v.exchanges[dst]; !ok {
		return fmt.Errorf("%w: %s", amqp.ErrExchangeNotFound, dst)
	}
	x, ok := s.v.exchanges[src]
	if !ok {
		return fmt.Errorf("%w: %s", amqp.ErrExchangeNotFound, src)
	}
	x.bind(binding{dest: dst, toExchange: true, key: key, args: args})
	return nil
}

func (s *session) UnbindExchange(dst, src, key string, _ message.Table) error {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	x, ok := s.v.exchanges[src]
	if !ok {
		return fmt.Errorf("%w: %s", amqp.ErrExchangeNotFound, src)
	}
	s.v.unbindLocked(x, dst, true, key)
	return nil
}

func (x *exchange) bind(b binding) {
	for _, o := range x.bindings {
		if o.dest == b.dest && o.toExchange == b.toExchange && o.key == b.key {
			return
		}
	}
	x.bindings = append(x.bindings, b)
}

func (v *vhost) unbindLocked(x *exchange, dest string, toExchange bool, key string) {
	out := x.bindings[:0]
	for _, o := range x.bindings {
		if !(o.dest == dest && o.toExchange == toExchange && o.key == key) {
			out = append(out, o)
		}
	}
	x.bindings = out
	if x.autoDelete && len(out) == 0 {
		delete(v.exchanges, x.name)
	}
}

// unbindAllLocked removes every binding to a deleted queue.
func (v *vhost) unbindAllLocked(q string) {
	for _, x := range v.exchanges {
		out := x.bindings[:0]
		for _, o := range x.bindings {
			if o.toExchange || o.dest != q {
				out = append(out, o)
			}
		}
		x.bindings = out
	}
}

func (s *session) Publish(m *message.Message, done func(ack bool)) (bool, error) {
	s.v.mu.Lock()
	x, ok := s.v.exchanges[m.Exchange]
	if !ok {
		s.v.mu.Unlock()
		return false, amqp.ErrExchangeNotFound
	}
	if x.intern {
		s.v.mu.Unlock()
		return false, amqp.ErrInternalExchange
	}
	qs := map[*queue]bool{}
	keys := []string{m.RoutingKey}
	for _, h := range []string{"CC", "BCC"} {
		if v, ok := m.Props.Headers.Get(h); ok {
			if arr, ok := v.([]any); ok {
				for _, k := range arr {
					if s, ok := k.(string); ok {
						keys = append(keys, s)
					}
				}
			}
		}
	}
	for _, k := range keys {
		s.v.routeLocked(x, k, m, qs, map[string]bool{})
	}
	s.v.mu.Unlock()
	if len(qs) == 0 {
		return false, nil
	}
	for q := range qs {
		q.enqueue(m)
	}
	if done != nil {
		done(true)
	}
	return true, nil
}

func (v *vhost) routeLocked(x *exchange, key string, m *message.Message, out map[*queue]bool, seen map[string]bool) {
	if seen[x.name] {
		return
	}
	seen[x.name] = true
	if x.name == "" {
		if q, ok := v.queues[key]; ok {
			out[q] = true
		}
		return
	}
	for _, b := range x.bindings {
		if !matches(x.typ, b, key, m) {
			continue
		}
		if b.toExchange {
			if d, ok := v.exchanges[b.dest]; ok {
				v.routeLocked(d, key, m, out, seen)
			}
		} else if q, ok := v.queues[b.dest]; ok {
			out[q] = true
		}
	}
}

func matches(typ string, b binding, key string, m *message.Message) bool {
	switch typ {
	case "fanout":
		return true
	case "topic":
		return topicMatch(strings.Split(b.key, "."), strings.Split(key, "."))
	case "headers":
		all := true
		if v, ok := b.args.Get("x-match"); ok && v == "any" {
			all = false
		}
		for _, f := range b.args {
			if strings.HasPrefix(f.Key, "x-") {
				continue
			}
			v, ok := m.Props.Headers.Get(f.Key)
			hit := ok && fmt.Sprint(v) == fmt.Sprint(f.Value)
			if hit && !all {
				return true
			}
			if !hit && all {
				return false
			}
		}
		return all
	}
	return b.key == key
}

func topicMatch(p, k []string) bool {
	if len(p) == 0 {
		return len(k) == 0
	}
	if p[0] == "#" {
		for i := 0; i <= len(k); i++ {
			if topicMatch(p[1:], k[i:]) {
				return true
			}
		}
		return false
	}
	if len(k) == 0 || (p[0] != "*" && p[0] != k[0]) {
		return false
	}
	return topicMatch(p[1:], k[1:])
}
