package core

import (
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
	"github.com/junctionmq/junction/core/store"
	"github.com/junctionmq/junction/persist"
	"github.com/stretchr/testify/require"
)

// openBroker opens a broker on a real store in dir (a new temp dir when "").
func openBroker(t testing.TB, dir string) (*Broker, *persist.DB) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := persist.Open(dir, persist.Options{GCInterval: -1})
	require.NoError(t, err)
	b, err := Open(Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(dir, "auth.key")}})
	require.NoError(t, err)
	return b, st
}

func closeBroker(t testing.TB, b *Broker, st *persist.DB) {
	t.Helper()
	require.NoError(t, b.Close())
	require.NoError(t, st.Close())
}

// collector is a push consumer that records deliveries.
type collector struct {
	mu sync.Mutex
	ds []queue.Delivery
}

func (c *collector) Deliver(d queue.Delivery) {
	c.mu.Lock()
	c.ds = append(c.ds, d)
	c.mu.Unlock()
}

func (c *collector) bodies() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.ds))
	for i, d := range c.ds {
		out[i] = string(d.Msg.Body)
	}
	return out
}

func msg(exchange, key, body string, persistent bool) *message.Message {
	m := &message.Message{Exchange: exchange, RoutingKey: key, Body: []byte(body)}
	if persistent {
		m.Props.DeliveryMode = 2
		m.Props.Flags |= message.FlagDeliveryMode
	}
	return m
}

func TestPublishRoutesThroughExchangeTypes(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, err := b.Vhost("/")
	require.NoError(t, err)
	for _, name := range []string{"qa", "qb"} {
		_, created, err := v.DeclareQueue(QueueDecl{Name: name})
		require.NoError(t, err)
		require.True(t, created)
	}
	require.NoError(t, v.Bind(route.Binding{Source: "amq.topic", Dest: route.Dest{Kind: route.DestQueue, Name: "qa"}, Key: "sensor.*.temp"}))
	require.NoError(t, v.Bind(route.Binding{Source: "amq.fanout", Dest: route.Dest{Kind: route.DestQueue, Name: "qa"}}))
	require.NoError(t, v.Bind(route.Binding{Source: "amq.fanout", Dest: route.Dest{Kind: route.DestQueue, Name: "qb"}}))

	cases := []struct {
		exchange, key string
		routed        bool
		a, b          int
	}{
		{"", "qa", true, 1, 0},
		{"amq.topic", "sensor.1.temp", true, 1, 0},
		{"amq.topic", "sensor.1.humidity", false, 0, 0},
		{"amq.fanout", "anything", true, 1, 1},
	}
	for _, tc := range cases {
		qa, _ := v.Queue("qa")
		qb, _ := v.Queue("qb")
		_, _ = qa.Purge()
		_, _ = qb.Purge()
		routed, err := v.Publish(msg(tc.exchange, tc.key, "x", false), nil)
		require.NoError(t, err)
		require.Equal(t, tc.routed, routed, "%s %s", tc.exchange, tc.key)
		require.Equal(t, tc.a, qa.Stats().Ready)
		require.Equal(t, tc.b, qb.Stats().Ready)
	}
	_, err = v.Publish(msg("nope", "k", "x", false), nil)
	require.ErrorIs(t, err, ErrNotFound)
	require.EqualError(t, err, "no exchange 'nope' in vhost '/'")
}

func TestDeclareQueueErrors(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	owner1, owner2 := new(int), new(int)
	_, _, err := v.DeclareQueue(QueueDecl{Name: "ex", Exclusive: true, Owner: owner1})
	require.NoError(t, err)
	_, _, err = v.DeclareQueue(QueueDecl{Name: "ex", Exclusive: true, Owner: owner2})
	require.ErrorIs(t, err, ErrLocked)

	_, _, err = v.DeclareQueue(QueueDecl{Name: "d", Durable: true})
	require.NoError(t, err)
	_, _, err = v.DeclareQueue(QueueDecl{Name: "d", Durable: false})
	require.ErrorIs(t, err, ErrPrecondition)
	require.Contains(t, err.Error(), "inequivalent arg 'durable' for queue 'd' in vhost '/'")

	_, _, err = v.DeclareQueue(QueueDecl{Name: "missing", Passive: true})
	require.ErrorIs(t, err, ErrNotFound)
	require.EqualError(t, err, "no queue 'missing' in vhost '/'")

	_, _, err = v.DeclareQueue(QueueDecl{Name: "bad", Args: message.Table{{Key: "x-max-length", Value: int32(-1)}}})
	require.ErrorIs(t, err, ErrPrecondition)

	v.DeleteOwned(owner1)
	_, err = v.Queue("ex")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestConfirmAfterDurable(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	_, _, err := v.DeclareQueue(QueueDecl{Name: "d1", Durable: true})
	require.NoError(t, err)
	_, _, err = v.DeclareQueue(QueueDecl{Name: "d2", Durable: true})
	require.NoError(t, err)
	require.NoError(t, v.Bind(route.Binding{Source: "amq.fanout", Dest: route.Dest{Kind: route.DestQueue, Name: "d1"}}))
	require.NoError(t, v.Bind(route.Binding{Source: "amq.fanout", Dest: route.Dest{Kind: route.DestQueue, Name: "d2"}}))
	acks := make(chan bool, 1)
	routed, err := v.Publish(msg("amq.fanout", "", "p", true), func(ack bool) { acks <- ack })
	require.NoError(t, err)
	require.True(t, routed)
	require.True(t, <-acks)
	// The confirmed message is in the store for both queues.
	for _, q := range []string{"d1", "d2"} {
		n := 0
		require.NoError(t, st.Messages(queueKey("/", q), func(e store.Entry, data []byte) error { n++; return nil }))
		require.Equal(t, 1, n, q)
	}
}

func TestRejectPublishNacks(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	_, _, err := v.DeclareQueue(QueueDecl{Name: "full", Args: message.Table{
		{Key: "x-max-length", Value: int32(1)}, {Key: "x-overflow", Value: "reject-publish"}}})
	require.NoError(t, err)
	acks := make(chan bool, 2)
	for i := 0; i < 2; i++ {
		_, err := v.Publish(msg("", "full", "x", false), func(ack bool) { acks <- ack })
		require.NoError(t, err)
	}
	require.True(t, <-acks)
	require.False(t, <-acks)
}

func TestDeadLetterThroughExchange(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	_, _, err := v.DeclareQueue(QueueDecl{Name: "dlq"})
	require.NoError(t, err)
	require.NoError(t, v.Bind(route.Binding{Source: "amq.direct", Dest: route.Dest{Kind: route.DestQueue, Name: "dlq"}, Key: "dead"}))
	src, _, err := v.DeclareQueue(QueueDecl{Name: "src", Args: message.Table{
		{Key: "x-dead-letter-exchange", Value: "amq.direct"}, {Key: "x-dead-letter-routing-key", Value: "dead"}}})
	require.NoError(t, err)
	_, err = v.Publish(msg("", "src", "bye", false), nil)
	require.NoError(t, err)
	d, ok := src.Get(false)
	require.True(t, ok)
	require.NoError(t, src.Nack(d.Seq, false))
	dlq, _ := v.Queue("dlq")
	got, ok := dlq.Get(true)
	require.True(t, ok)
	require.Equal(t, "bye", string(got.Msg.Body))
	deaths, ok := got.Msg.Props.Headers.Get("x-death")
	require.True(t, ok)
	first := deaths.([]any)[0].(message.Table)
	reason, _ := first.Get("reason")
	require.Equal(t, "rejected", reason)
}

func TestRecoveryRestoresDefinitionsAndMessages(t *testing.T) {
	dir := t.TempDir()
	b, st := openBroker(t, dir)
	v, _ := b.Vhost("/")
	require.NoError(t, v.DeclareExchange(route.Exchange{Name: "events", Kind: route.Topic, Durable: true}, false))
	require.NoError(t, v.DeclareExchange(route.Exchange{Name: "scratch", Kind: route.Fanout}, false))
	_, _, err := v.DeclareQueue(QueueDecl{Name: "keep", Durable: true, Args: message.Table{{Key: "x-max-priority", Value: int32(5)}}})
	require.NoError(t, err)
	_, _, err = v.DeclareQueue(QueueDecl{Name: "tmp"})
	require.NoError(t, err)
	require.NoError(t, v.Bind(route.Binding{Source: "events", Dest: route.Dest{Kind: route.DestQueue, Name: "keep"}, Key: "a.#"}))
	var wg sync.WaitGroup
	for i, body := range []string{"one", "two", "three"} {
		wg.Add(1)
		_, err := v.Publish(msg("events", "a.b", body, i != 1), func(bool) { wg.Done() })
		require.NoError(t, err)
	}
	wg.Wait()
	q, _ := v.Queue("keep")
	d, ok := q.Get(false) // unacked at shutdown: comes back redelivered
	require.True(t, ok)
	require.Equal(t, "one", string(d.Msg.Body))
	closeBroker(t, b, st)

	b, st = openBroker(t, dir)
	defer closeBroker(t, b, st)
	v, _ = b.Vhost("/")
	x, err := v.Exchange("events")
	require.NoError(t, err)
	require.Equal(t, route.Topic, x.Kind)
	_, err = v.Exchange("scratch")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = v.Queue("tmp")
	require.ErrorIs(t, err, ErrNotFound)
	q, err = v.Queue("keep")
	require.NoError(t, err)
	require.Equal(t, uint8(5), q.Config().Args.MaxPriority)
	// Only the persistent messages survive, in order, the unacked one redelivered.
	d1, ok := q.Get(true)
	require.True(t, ok)
	require.Equal(t, "one", string(d1.Msg.Body))
	require.True(t, d1.Redelivered)
	d2, ok := q.Get(true)
	require.True(t, ok)
	require.Equal(t, "three", string(d2.Msg.Body))
	_, ok = q.Get(true)
	require.False(t, ok)
	// The binding survived.
	routed, err := v.Publish(msg("events", "a.c", "four", false), nil)
	require.NoError(t, err)
	require.True(t, routed)
}

func TestDeleteQueueRemovesBindingsAndDefinition(t *testing.T) {
	dir := t.TempDir()
	b, st := openBroker(t, dir)
	v, _ := b.Vhost("/")
	_, _, err := v.DeclareQueue(QueueDecl{Name: "gone", Durable: true})
	require.NoError(t, err)
	require.NoError(t, v.Bind(route.Binding{Source: "amq.topic", Dest: route.Dest{Kind: route.DestQueue, Name: "gone"}, Key: "#"}))
	_, err = v.Publish(msg("amq.topic", "x", "m", false), nil)
	require.NoError(t, err)
	_, err = v.DeleteQueue("gone", false, true, nil)
	require.ErrorIs(t, err, ErrPrecondition)
	n, err := v.DeleteQueue("gone", false, false, nil)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	routed, err := v.Publish(msg("amq.topic", "x", "m", false), nil)
	require.NoError(t, err)
	require.False(t, routed)
	closeBroker(t, b, st)
	b, st = openBroker(t, dir)
	defer closeBroker(t, b, st)
	v, _ = b.Vhost("/")
	_, err = v.Queue("gone")
	require.True(t, errors.Is(err, ErrNotFound))
	require.Empty(t, v.Routes().Bindings())
}

func TestConsumerGetsPublishedMessages(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	q, _, err := v.DeclareQueue(QueueDecl{Name: "c"})
	require.NoError(t, err)
	c := &collector{}
	_, err = q.Consume(c, queue.ConsumeOptions{Tag: "t", AutoAck: true})
	require.NoError(t, err)
	for _, body := range []string{"a", "b", "c"} {
		_, err := v.Publish(msg("", "c", body, false), nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(c.bodies()) == 3 }, 5*time.Second, time.Millisecond)
	require.Equal(t, []string{"a", "b", "c"}, c.bodies())
}

func TestPolicyAppliesToMatchingQueues(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	require.NoError(t, b.Users().PutPolicy(auth.Policy{Vhost: "/", Name: "cap", Pattern: "^capped\\.",
		ApplyTo: "queues", Definition: map[string]any{"max-length": 2, "overflow": "reject-publish"}}))
	q, _, err := v.DeclareQueue(QueueDecl{Name: "capped.one"})
	require.NoError(t, err)
	require.Equal(t, int64(2), q.Config().Args.MaxLength)
	// A declared argument lower than the policy's wins (max-length is a
	// "lower value wins" key).
	q2, _, err := v.DeclareQueue(QueueDecl{Name: "capped.two", Args: message.Table{{Key: "x-max-length", Value: int32(1)}}})
	require.NoError(t, err)
	require.Equal(t, int64(1), q2.Config().Args.MaxLength)
	// A redeclare with the same declared arguments is equivalent even though
	// the policy changed the effective ones.
	_, _, err = v.DeclareQueue(QueueDecl{Name: "capped.one"})
	require.NoError(t, err)
	other, _, err := v.DeclareQueue(QueueDecl{Name: "free"})
	require.NoError(t, err)
	require.Equal(t, int64(queue.Unlimited), other.Config().Args.MaxLength)
}

func TestInvalidNamesAreTypedErrors(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	long := string(make([]byte, 256))
	for _, name := range []string{long, "bad\xff"} {
		_, _, err := v.DeclareQueue(QueueDecl{Name: name})
		require.ErrorIs(t, err, ErrInvalid)
		err = v.DeclareExchange(route.Exchange{Name: name, Kind: route.Direct}, false)
		require.ErrorIs(t, err, ErrInvalid)
		_, _, err = v.DeclareStream(name, 0, 0)
		require.ErrorIs(t, err, ErrInvalid)
		_, err = v.CreatePartitioned(name, 1, 0)
		require.ErrorIs(t, err, ErrInvalid)
	}
	_, err := b.Vhost("nope")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = v.Queue("nope")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = v.DeleteQueue("nope", false, false, nil)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, v.Bind(route.Binding{Source: "amq.direct", Dest: route.Dest{Kind: route.DestQueue, Name: "nope"}}), ErrNotFound)
	require.ErrorIs(t, v.Bind(route.Binding{Source: "nope", Dest: route.Dest{Kind: route.DestExchange, Name: "amq.direct"}}), ErrNotFound)
}

// countingStore counts the definition deletes that reach the store.
type countingStore struct {
	*persist.DB
	deletes atomic.Int64
}

func (s *countingStore) DeleteDef(kind, key string) error {
	s.deletes.Add(1)
	return s.DB.DeleteDef(kind, key)
}

// TestUnbindTransientWritesNothing: unbinding a binding that was never
// stored (its queue is not durable), or deleting such a queue with its
// bindings, costs no store write, while unbinding a durable one deletes
// its definition, which stays deleted after a restart.
func TestUnbindTransientWritesNothing(t *testing.T) {
	dir := t.TempDir()
	db, err := persist.Open(dir, persist.Options{GCInterval: -1})
	require.NoError(t, err)
	st := &countingStore{DB: db}
	b, err := Open(Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(dir, "auth.key")}})
	require.NoError(t, err)
	v, _ := b.Vhost("/")
	_, _, err = v.DeclareQueue(QueueDecl{Name: "tmp"})
	require.NoError(t, err)
	_, _, err = v.DeclareQueue(QueueDecl{Name: "keep", Durable: true})
	require.NoError(t, err)
	tmp := route.Binding{Source: "amq.direct", Dest: route.Dest{Kind: route.DestQueue, Name: "tmp"}, Key: "k"}
	for range 3 {
		require.NoError(t, v.Bind(tmp))
		require.NoError(t, v.Unbind(tmp))
	}
	require.Zero(t, st.deletes.Load(), "a transient binding's unbind reached the store")
	// Nor does deleting the transient queue with a binding still on it.
	require.NoError(t, v.Bind(tmp))
	_, err = v.DeleteQueue("tmp", false, false, nil)
	require.NoError(t, err)
	require.Zero(t, st.deletes.Load(), "a transient queue's delete reached the store")

	keep := route.Binding{Source: "amq.direct", Dest: route.Dest{Kind: route.DestQueue, Name: "keep"}, Key: "k"}
	require.NoError(t, v.Bind(keep))
	require.NoError(t, v.Unbind(keep))
	require.Equal(t, int64(1), st.deletes.Load())
	closeBroker(t, b, db)

	b, db = openBroker(t, dir)
	defer closeBroker(t, b, db)
	v, _ = b.Vhost("/")
	routed, err := v.Publish(msg("amq.direct", "k", "after restart", true), nil)
	require.NoError(t, err)
	require.False(t, routed, "the unbound durable binding came back")
}
