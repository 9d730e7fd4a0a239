package amqp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
	"github.com/junctionmq/junction/core/stream"
	"github.com/junctionmq/junction/core/tally"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// CoreBroker is the Broker the server runs on: the core, with RabbitMQ's
// permission checks made on each operation.
type CoreBroker struct {
	b       *core.Broker
	users   *auth.Store
	streams *streamHub // stream queue consumers (streamconsume.go)
}

// NewCoreBroker returns the face's view of the core broker b.
func NewCoreBroker(b *core.Broker) *CoreBroker {
	return &CoreBroker{b: b, users: b.Users(), streams: newStreamHub(slog.Default())}
}

// Tally returns the core's per-face message counters.
func (cb *CoreBroker) Tally() *tally.Faces { return cb.b.Tally() }

// Authenticate implements Broker.
func (cb *CoreBroker) Authenticate(user, password string, remote net.Addr) error {
	if _, err := cb.users.CheckPassword(user, password); err != nil {
		return fmt.Errorf("%w: %v", ErrAuthFailed, err)
	}
	if !cb.users.AllowedFrom(user, remote) {
		return fmt.Errorf("%w: user '%s' can only connect via localhost", ErrAuthFailed, user)
	}
	return nil
}

// AuthenticateExternal authenticates SASL EXTERNAL: the user named by a
// verified client certificate must exist (and may be loopback-only).
func (cb *CoreBroker) AuthenticateExternal(user string, remote net.Addr) error {
	if _, ok := cb.users.User(user); !ok {
		return fmt.Errorf("%w: user '%s' from certificate does not exist", ErrAuthFailed, user)
	}
	if !cb.users.AllowedFrom(user, remote) {
		return fmt.Errorf("%w: user '%s' can only connect via localhost", ErrAuthFailed, user)
	}
	return nil
}

// OpenVhost implements Broker.
func (cb *CoreBroker) OpenVhost(user, vhost string, conn ConnInfo) (Vhost, error) {
	v, err := cb.b.Vhost(vhost)
	if err != nil {
		return nil, ErrVhostNotFound
	}
	if err := cb.users.CheckVhostAccess(user, vhost); err != nil {
		return nil, ErrVhostAccess
	}
	release, err := cb.b.OpenConnection(user, vhost) // the user's and the vhost's max-connections
	if err != nil {
		return nil, err
	}
	return &coreVhost{v: v, users: cb.users, user: user, conn: conn, streams: cb.streams, release: release}, nil
}

// coreVhost is one connection's session on a core vhost. It is also the
// owner token of the connection's exclusive queues.
type coreVhost struct {
	v       *core.Vhost
	users   *auth.Store
	user    string
	conn    ConnInfo
	streams *streamHub
	release func() // uncounts the connection (core.Broker.OpenConnection)

	// The last publish the permission checks allowed (reader only): while
	// the user store's Generation stays pubGen, another publish to
	// pubExchange is allowed without a lookup. Only cached when no topic
	// permission applies to the exchange, so the routing key is free.
	pubGen      uint64
	pubExchange string
	pubOK       bool
}

func (cv *coreVhost) Name() string { return cv.v.Name() }

// check runs a permission check and turns a refusal into a core error.
func (cv *coreVhost) check(perm auth.Perm, kind auth.ResourceKind, name string) error {
	if err := cv.users.Check(cv.user, cv.v.Name(), perm, kind, name); err != nil {
		return &core.Error{Kind: core.ErrAccessRefused, Text: err.Error(), Err: err}
	}
	return nil
}

func (cv *coreVhost) DeclareExchange(d ExchangeDecl) error {
	if d.Passive {
		return cv.v.DeclareExchange(route.Exchange{Name: d.Name}, true)
	}
	if err := cv.check(auth.PermConfigure, auth.ResourceExchange, d.Name); err != nil {
		return err
	}
	kind, err := route.ParseKind(d.Type)
	if err != nil {
		return &core.Error{Kind: core.ErrInvalid, Text: err.Error(), Err: err}
	}
	return cv.v.DeclareExchange(route.Exchange{Name: d.Name, Kind: kind, Durable: d.Durable,
		AutoDelete: d.AutoDelete, Internal: d.Internal, Args: d.Args}, false)
}

func (cv *coreVhost) DeleteExchange(name string, ifUnused bool) error {
	if err := cv.check(auth.PermConfigure, auth.ResourceExchange, name); err != nil {
		return err
	}
	return cv.v.DeleteExchange(name, ifUnused)
}

func (cv *coreVhost) BindExchange(destination, source, key string, args message.Table) error {
	if err := cv.checkBind(auth.ResourceExchange, destination, source, key); err != nil {
		return err
	}
	return cv.v.Bind(route.Binding{Source: source, Dest: route.Dest{Kind: route.DestExchange, Name: destination}, Key: key, Args: args})
}

func (cv *coreVhost) UnbindExchange(destination, source, key string, args message.Table) error {
	if err := cv.checkBind(auth.ResourceExchange, destination, source, key); err != nil {
		return err
	}
	return cv.v.Unbind(route.Binding{Source: source, Dest: route.Dest{Kind: route.DestExchange, Name: destination}, Key: key, Args: args})
}

// checkBind: RabbitMQ needs write on the destination, read on the source
// and, on a topic exchange, topic read permission for the key.
func (cv *coreVhost) checkBind(kind auth.ResourceKind, destination, source, key string) error {
	if err := cv.check(auth.PermWrite, kind, destination); err != nil {
		return err
	}
	if err := cv.check(auth.PermRead, auth.ResourceExchange, source); err != nil {
		return err
	}
	return cv.checkTopic(source, key, false)
}

// checkTopic applies the user's topic permission on exchange to a routing
// key (write to publish, read to bind) when exchange is a topic exchange,
// as RabbitMQ's check_topic_authorisation. A user without a topic
// permission on exchange passes with one map lookup.
func (cv *coreVhost) checkTopic(exchange, key string, write bool) error {
	err := cv.users.CheckTopic(cv.user, cv.v.Name(), exchange, key, write, nil)
	if err == nil {
		return nil
	}
	if x, xerr := cv.v.Exchange(exchange); xerr != nil || x.Kind != route.Topic {
		return nil
	}
	return &core.Error{Kind: core.ErrAccessRefused, Text: err.Error(), Err: err}
}

func (cv *coreVhost) DeclareQueue(d QueueDecl) (messages, consumers int, err error) {
	if !d.Passive {
		if err := cv.check(auth.PermConfigure, auth.ResourceQueue, d.Name); err != nil {
			return 0, 0, err
		}
	}
	if d.Passive {
		if s, err := cv.v.Stream(d.Name); err == nil {
			first, next := s.Bounds()
			return int(next - first), cv.streams.count(s), nil
		}
	} else if t, _ := d.Args.Get("x-queue-type"); t == "stream" {
		return cv.declareStream(d)
	}
	q, _, err := cv.v.DeclareQueue(core.QueueDecl{Name: d.Name, Durable: d.Durable, Exclusive: d.Exclusive,
		Owner: cv, AutoDelete: d.AutoDelete, Args: d.Args, Passive: d.Passive})
	if err != nil {
		return 0, 0, err
	}
	st := q.Stats()
	return st.Ready, st.Consumers, nil
}

// declareStream declares an x-queue-type=stream queue: a core stream.
func (cv *coreVhost) declareStream(d QueueDecl) (int, int, error) {
	if !d.Durable || d.Exclusive || d.AutoDelete {
		return 0, 0, &core.Error{Kind: core.ErrPrecondition, Text: fmt.Sprintf(
			"invalid property '%s' for queue '%s' in vhost '%s'", streamBadProperty(d), d.Name, cv.v.Name())}
	}
	maxAge, maxBytes, err := streamRetention(d.Args, d.Name, cv.v.Name())
	if err != nil {
		return 0, 0, err
	}
	s, _, err := cv.v.DeclareStream(d.Name, maxAge, maxBytes)
	if err != nil {
		return 0, 0, err
	}
	first, next := s.Bounds()
	return int(next - first), cv.streams.count(s), nil
}

// streamRetention reads a stream's retention arguments: x-max-age
// (RabbitMQ's "7D", "12h" syntax) and x-max-length-bytes.
func streamRetention(args message.Table, name, vhost string) (time.Duration, int64, error) {
	var maxAge time.Duration
	var maxBytes int64
	if v, ok := args.Get("x-max-age"); ok {
		s, _ := v.(string)
		d, ok := parseAge(s)
		if !ok {
			return 0, 0, &core.Error{Kind: core.ErrPrecondition, Text: fmt.Sprintf(
				"invalid arg 'x-max-age' for queue '%s' in vhost '%s': {invalid_max_age,%v}", name, vhost, v)}
		}
		maxAge = d
	}
	if v, ok := args.Get("x-max-length-bytes"); ok {
		n, ok := message.Int(v)
		if !ok || n < 0 {
			return 0, 0, &core.Error{Kind: core.ErrPrecondition, Text: fmt.Sprintf(
				"invalid arg 'x-max-length-bytes' for queue '%s' in vhost '%s': {value_negative,%v}", name, vhost, v)}
		}
		maxBytes = n
	}
	return maxAge, maxBytes, nil
}

func streamBadProperty(d QueueDecl) string {
	switch {
	case !d.Durable:
		return "non-durable"
	case d.Exclusive:
		return "exclusive"
	}
	return "auto-delete"
}

func (cv *coreVhost) DeleteQueue(name string, ifUnused, ifEmpty bool) (int, error) {
	if err := cv.check(auth.PermConfigure, auth.ResourceQueue, name); err != nil {
		return 0, err
	}
	if s, err := cv.v.Stream(name); err == nil {
		first, next := s.Bounds()
		return int(next - first), cv.v.DeleteStream(name)
	}
	return cv.v.DeleteQueue(name, ifUnused, ifEmpty, cv)
}

func (cv *coreVhost) PurgeQueue(name string) (int, error) {
	if err := cv.check(auth.PermRead, auth.ResourceQueue, name); err != nil {
		return 0, err
	}
	q, err := cv.v.QueueFor(name, cv)
	if err != nil {
		return 0, err
	}
	return q.Purge()
}

func (cv *coreVhost) queueDest(name string) route.Dest {
	if _, err := cv.v.Stream(name); err == nil {
		return route.Dest{Kind: route.DestStream, Name: name}
	}
	return route.Dest{Kind: route.DestQueue, Name: name}
}

func (cv *coreVhost) BindQueue(queueName, exchange, key string, args message.Table) error {
	if err := cv.checkBind(auth.ResourceQueue, queueName, exchange, key); err != nil {
		return err
	}
	if _, err := cv.v.QueueFor(queueName, cv); err != nil && !errors.Is(err, core.ErrNotFound) {
		return err
	}
	return cv.v.Bind(route.Binding{Source: exchange, Dest: cv.queueDest(queueName), Key: key, Args: args})
}

func (cv *coreVhost) UnbindQueue(queueName, exchange, key string, args message.Table) error {
	if err := cv.checkBind(auth.ResourceQueue, queueName, exchange, key); err != nil {
		return err
	}
	return cv.v.Unbind(route.Binding{Source: exchange, Dest: cv.queueDest(queueName), Key: key, Args: args})
}

func (cv *coreVhost) Publish(m *message.Message, done func(ack bool)) (bool, error) {
	if err := cv.check(auth.PermWrite, auth.ResourceExchange, m.Exchange); err != nil {
		return false, err
	}
	if err := cv.checkTopic(m.Exchange, m.RoutingKey, true); err != nil {
		return false, err
	}
	return cv.v.Publish(m, done)
}

// PublishFlow implements flowPublisher. The reader calls it for every
// publish, so that the permission checks' result is cached (pubGen).
func (cv *coreVhost) PublishFlow(m *message.Message, done func(ack bool), via any) (bool, <-chan struct{}, error) {
	if gen := cv.users.Generation(); !cv.pubOK || gen != cv.pubGen || m.Exchange != cv.pubExchange {
		cv.pubOK = false
		if err := cv.check(auth.PermWrite, auth.ResourceExchange, m.Exchange); err != nil {
			return false, nil, err
		}
		if err := cv.checkTopic(m.Exchange, m.RoutingKey, true); err != nil {
			return false, nil, err
		}
		if cv.users.TopicFree(cv.user, cv.v.Name(), m.Exchange) {
			cv.pubGen, cv.pubExchange, cv.pubOK = gen, m.Exchange, true
		}
	}
	return cv.v.PublishVia(m, done, via)
}

func (cv *coreVhost) NewLimiter(prefetch uint32) Limiter {
	return coreLimiter{queue.NewLimiter(int(prefetch))}
}

func (cv *coreVhost) Consume(queueName string, c Consumer, o ConsumeOptions) (Subscription, error) {
	if err := cv.check(auth.PermRead, auth.ResourceQueue, queueName); err != nil {
		return nil, err
	}
	if s, err := cv.v.Stream(queueName); err == nil {
		return cv.consumeStream(queueName, s, c, o)
	}
	q, err := cv.v.QueueFor(queueName, cv)
	if err != nil {
		return nil, err
	}
	limiters := make([]*queue.Limiter, 0, len(o.Limiters))
	for _, l := range o.Limiters {
		if cl, ok := l.(coreLimiter); ok {
			limiters = append(limiters, cl.l)
		}
	}
	var flow *queue.Limiter
	if cl, ok := o.Flow.(coreLimiter); ok {
		flow = cl.l
	}
	cc := &coreConsumer{c: c, q: &coreQueue{q: q}}
	sub, err := q.Consume(cc, queue.ConsumeOptions{Tag: o.Tag, AutoAck: o.NoAck, Exclusive: o.Exclusive,
		Priority: o.Priority, Limiters: limiters, Flow: flow})
	if errors.Is(err, queue.ErrExclusiveConsumer) {
		return nil, ErrExclusiveUse
	}
	if err != nil {
		return nil, err
	}
	return coreSubscription{q: q, s: sub}, nil
}

func (cv *coreVhost) Get(queueName string, autoAck bool) (Delivery, int, bool, error) {
	if err := cv.check(auth.PermRead, auth.ResourceQueue, queueName); err != nil {
		return Delivery{}, 0, false, err
	}
	if _, err := cv.v.Stream(queueName); err == nil {
		return Delivery{}, 0, false, hardErr(amqp091.NotImplemented,
			"basic.get not supported by stream queues queue '%s' in vhost '%s'", queueName, cv.v.Name())
	}
	q, err := cv.v.QueueFor(queueName, cv)
	if err != nil {
		return Delivery{}, 0, false, err
	}
	d, ok := q.Get(autoAck)
	if !ok {
		return Delivery{}, 0, false, nil
	}
	return Delivery{Queue: &coreQueue{q: q}, Seq: d.Seq, Msg: d.Msg, Redelivered: d.Redelivered,
		DeliveryCount: d.DeliveryCount}, q.Stats().Ready, true, nil
}

func (cv *coreVhost) Close() {
	cv.v.DeleteOwned(cv)
	cv.release()
}

// consumeStream attaches a consumer to a stream queue, with RabbitMQ 4's
// checks in its order (rabbit_stream_queue:consume): a consumer prefetch
// is required (406), automatic acknowledgement (540) and a channel-wide
// prefetch (540) are not supported.
func (cv *coreVhost) consumeStream(name string, s *stream.Stream, c Consumer, o ConsumeOptions) (Subscription, error) {
	rs := fmt.Sprintf("queue '%s' in vhost '%s'", name, cv.v.Name())
	switch {
	case o.Prefetch == 0:
		return nil, softErr(amqp091.PreconditionFailed, "consumer prefetch count is not set for stream %s", rs)
	case o.NoAck:
		return nil, hardErr(amqp091.NotImplemented, "automatic acknowledgement not supported by stream %s", rs)
	case o.GlobalPrefetch > 0:
		return nil, hardErr(amqp091.NotImplemented, "%s does not support global qos", rs)
	}
	sp, ok := startFor(o.Args, cv.v.Broker().Clock().Now())
	if !ok {
		v, _ := o.Args.Get("x-stream-offset")
		return nil, softErr(amqp091.PreconditionFailed, "invalid x-stream-offset %v for %s", v, rs)
	}
	pos, err := s.Resolve(sp)
	if err != nil {
		return nil, softErr(amqp091.PreconditionFailed, "invalid x-stream-offset for %s: %v", rs, err)
	}
	sc := &streamConsumer{c: c, pos: pos}
	sc.credit.Store(int64(o.Prefetch))
	cv.streams.add(cv.v, name, s, sc)
	return sc, nil
}

// coreLimiter is a core prefetch window. The core releases a slot itself
// when a delivery is acked, nacked or requeued, so Release does nothing.
type coreLimiter struct{ l *queue.Limiter }

func (cl coreLimiter) SetPrefetch(n uint32) { cl.l.SetMax(int(n)) }
func (cl coreLimiter) Release(int)          {}
func (cl coreLimiter) Hold(held bool)       { cl.l.Hold(held) }
func (cl coreLimiter) Wake()                { cl.l.Wake() }

// coreConsumer adapts the face's Consumer to the core's.
type coreConsumer struct {
	c Consumer
	q *coreQueue
}

func (cc *coreConsumer) Deliver(d queue.Delivery) {
	cc.c.Deliver(Delivery{Queue: cc.q, Seq: d.Seq, Msg: d.Msg, Redelivered: d.Redelivered, DeliveryCount: d.DeliveryCount, Via: d.Via})
}

func (cc *coreConsumer) Cancelled() { cc.c.Cancelled() }

// coreQueue settles deliveries of a core queue. Settling a delivery of a
// deleted queue does nothing, as in RabbitMQ.
type coreQueue struct{ q *queue.Queue }

func (cq *coreQueue) Name() string { return cq.q.Name() }

func (cq *coreQueue) Ack(seqs []uint64) {
	for _, s := range seqs {
		_ = cq.q.Ack(s)
	}
}

func (cq *coreQueue) Nack(seqs []uint64, requeue bool) {
	if requeue && len(seqs) > 1 {
		_ = cq.q.Requeue(seqs)
		return
	}
	for _, s := range seqs {
		_ = cq.q.Nack(s, requeue)
	}
}

type coreSubscription struct {
	q *queue.Queue
	s *queue.Subscription
}

func (cs coreSubscription) Cancel() { _ = cs.q.Cancel(cs.s) }
