package amqp

import (
	"net"

	"github.com/junctionmq/junction/core/message"
)

// Broker is what the AMQP face needs from the core: authentication and a
// per-connection handle on a vhost. The lead wires core.Broker to it.
type Broker interface {
	// Authenticate checks a user's password (SASL PLAIN and AMQPLAIN are
	// decoded by the face). It returns an error wrapping ErrAuthFailed when
	// the credentials are wrong or the user may not connect from remote
	// (guest from a non-loopback address).
	Authenticate(user, password string, remote net.Addr) error

	// OpenVhost opens a connection's session on vhost for user. It returns
	// an error wrapping ErrVhostNotFound or ErrVhostAccess. conn identifies
	// the connection that owns exclusive queues declared through the
	// returned Vhost.
	OpenVhost(user, vhost string, conn ConnInfo) (Vhost, error)
}

// ConnInfo describes the connection opening a vhost, for exclusive queue
// ownership and for the management API.
type ConnInfo struct {
	ID     uint64 // unique within the process
	Name   string // RabbitMQ's shape: "127.0.0.1:5555 -> 127.0.0.1:5672"
	Remote net.Addr
}

// Vhost is one connection's session on a vhost. Every method is safe for
// concurrent use, though the face calls them from the connection's reader
// goroutine only (and Queue.Ack/Nack likewise). Names are already
// validated by the face (length, reserved "amq." prefixes).
type Vhost interface {
	// Name returns the vhost name.
	Name() string

	// DeclareExchange declares (or with Passive, checks) an exchange.
	// Errors: ErrExchangeNotFound (passive), ErrInequivalent,
	// ErrExchangeType, ErrAccessRefused.
	DeclareExchange(d ExchangeDecl) error
	// DeleteExchange deletes an exchange. Errors: ErrExchangeNotFound,
	// ErrInUse (ifUnused), ErrAccessRefused.
	DeleteExchange(name string, ifUnused bool) error
	// BindExchange binds destination to source. Errors:
	// ErrExchangeNotFound, ErrAccessRefused.
	BindExchange(destination, source, key string, args message.Table) error
	// UnbindExchange removes an exchange-to-exchange binding.
	UnbindExchange(destination, source, key string, args message.Table) error

	// DeclareQueue declares (or with Passive, checks) a queue and reports
	// its counts. An empty d.Name is never passed: the face generates
	// amq.gen- names. Errors: ErrQueueNotFound (passive), ErrQueueLocked
	// (exclusive queue of another connection), ErrInequivalent,
	// ErrAccessRefused.
	DeclareQueue(d QueueDecl) (messages, consumers int, err error)
	// DeleteQueue deletes a queue and returns how many messages it held.
	// Errors: ErrQueueNotFound, ErrInUse (ifUnused), ErrNotEmpty (ifEmpty),
	// ErrQueueLocked.
	DeleteQueue(name string, ifUnused, ifEmpty bool) (messages int, err error)
	// PurgeQueue removes the ready messages and returns how many.
	PurgeQueue(name string) (messages int, err error)
	// BindQueue binds a queue to an exchange. Errors: ErrQueueNotFound,
	// ErrExchangeNotFound, ErrQueueLocked, ErrAccessRefused.
	BindQueue(queue, exchange, key string, args message.Table) error
	// UnbindQueue removes a queue binding.
	UnbindQueue(queue, exchange, key string, args message.Table) error

	// Publish routes m (m.Exchange, m.RoutingKey; CC and BCC headers are
	// the core's business). It returns routed=false when no queue took the
	// message; then done is never called. Otherwise, when done is not nil,
	// the core calls it exactly once when the message is safe (durable
	// where it must be) with ack=true, or with ack=false when a queue
	// refused it; done may run on any goroutine, even before Publish
	// returns, and must not block. Errors: ErrExchangeNotFound,
	// ErrInternalExchange, ErrAccessRefused.
	Publish(m *message.Message, done func(ack bool)) (routed bool, err error)

	// NewLimiter returns a prefetch limiter allowing prefetch unacked
	// deliveries (0 = unlimited). The face makes one per channel
	// (basic.qos global=true) and one per consumer (global=false).
	NewLimiter(prefetch uint32) Limiter

	// Consume attaches c to a queue. Errors: ErrQueueNotFound,
	// ErrQueueLocked, ErrExclusiveUse, ErrAccessRefused.
	Consume(queue string, c Consumer, o ConsumeOptions) (Subscription, error)

	// Get takes one message from a queue. ok is false when it is empty.
	// remaining is the number of ready messages left. With autoAck the
	// message is settled at once; otherwise it waits for Queue.Ack/Nack.
	Get(queue string, autoAck bool) (d Delivery, remaining int, ok bool, err error)

	// Close ends the session: exclusive queues of this connection are
	// deleted. Subscriptions must have been cancelled and unacked
	// deliveries settled (the face requeues them) before.
	Close()
}

// ExchangeDecl is an exchange.declare.
type ExchangeDecl struct {
	Name       string
	Type       string
	Passive    bool
	Durable    bool
	AutoDelete bool
	Internal   bool
	Args       message.Table
}

// QueueDecl is a queue.declare.
type QueueDecl struct {
	Name       string
	Passive    bool
	Durable    bool
	Exclusive  bool // owned by the connection that opened the Vhost
	AutoDelete bool
	Args       message.Table
}

// ConsumeOptions are the options of basic.consume.
type ConsumeOptions struct {
	Tag       string // the consumer tag, for management and errors
	NoAck     bool   // deliveries are settled when delivered
	Exclusive bool   // no other consumer may attach while this one is
	Priority  int32  // x-priority: higher-priority consumers are served first
	Args      message.Table
	// Prefetch is the consumer's own window (basic.qos global=false) and
	// GlobalPrefetch the channel's (global=true); 0 when unset. Stream
	// queues need the former and refuse the latter, as RabbitMQ.
	Prefetch       uint32
	GlobalPrefetch uint32
	// Limiters bound the consumer's unacked deliveries; the core delivers
	// only while every limiter has room (Limiter.TryAcquire). Empty with
	// NoAck.
	Limiters []Limiter
	// Flow gates a NoAck consumer: the face holds it while the
	// connection's output backs up (conn.holdFlowLocked), and the core
	// skips the consumer, as one at its prefetch limit, until it is opened
	// and woken. nil: never held.
	Flow Limiter
}

// Limiter is a prefetch window (RabbitMQ's basic.qos prefetch_count)
// shared by the consumers it is given to. The core acquires a slot per
// delivery under the queue lock; the face releases slots on ack, nack and
// reject, and the limiter wakes the queues that stopped on it.
type Limiter interface {
	// SetPrefetch changes the limit; 0 means unlimited.
	SetPrefetch(n uint32)
	// Release frees n slots.
	Release(n int)
	// Hold closes (true) or opens (false) the limiter as a flow gate
	// (ConsumeOptions.Flow). It takes no lock: the face calls it under
	// conn.wmu. After opening, Wake, with no lock held.
	Hold(held bool)
	// Wake asks the queues that stopped on the limiter to deliver again.
	// No lock may be held.
	Wake()
}

// Consumer receives deliveries; the face implements it.
type Consumer interface {
	// Deliver hands over one delivery. The core calls it with the queue's
	// lock held: it must not block and must not call back into the core.
	Deliver(d Delivery)
	// Cancelled tells the consumer the core ended the subscription (the
	// queue was deleted). The face sends basic.cancel when the client
	// supports consumer_cancel_notify. It must not block.
	Cancelled()
}

// Subscription is an attached consumer.
type Subscription interface {
	// Cancel detaches the consumer; its unacked deliveries stay unacked.
	Cancel()
}

// Delivery is one message handed to a consumer or returned by Get.
type Delivery struct {
	Queue         Queue  // where the message came from; settles it
	Seq           uint64 // the queue's id for this delivery (ack id)
	Msg           *message.Message
	Redelivered   bool
	DeliveryCount uint32
	// Via is the via a publish passed to flowPublisher.PublishFlow when
	// that publish makes this delivery on its own goroutine before it
	// returns; nil otherwise.
	Via any
}

// Queue settles deliveries of one queue.
type Queue interface {
	// Name returns the queue name.
	Name() string
	// Ack removes delivered messages for good. The core must not keep
	// seqs after returning.
	Ack(seqs []uint64)
	// Nack returns delivered messages to the queue (requeue) or drops or
	// dead-letters them.
	Nack(seqs []uint64, requeue bool)
}
