package queue

// Read-only accessors for the management API: they copy what they return
// under the queue's lock and change nothing.

// SubscriberInfo describes one consumer registered on a queue.
type SubscriberInfo struct {
	Consumer  Consumer   // as passed to Consume
	Tag       string     // consumer tag
	AutoAck   bool       // settled on delivery
	Exclusive bool       // holds the queue alone
	Priority  int32      // x-priority
	Active    bool       // receives messages (false: waiting behind a single active consumer)
	Limiters  []*Limiter // the prefetch windows it was registered with
}

// Subscribers returns the queue's consumers, highest priority first.
func (q *Queue) Subscribers() []SubscriberInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]SubscriberInfo, 0, len(q.subs))
	for _, s := range q.subs {
		out = append(out, SubscriberInfo{Consumer: s.c, Tag: s.opts.Tag, AutoAck: s.opts.AutoAck,
			Exclusive: s.opts.Exclusive, Priority: s.opts.Priority, Active: s.active && !s.gone,
			Limiters: s.opts.Limiters})
	}
	return out
}

// Max returns the limiter's window (0 = unlimited).
func (l *Limiter) Max() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.max
}

// Counts are a queue's message totals since it was declared (or
// recovered), as RabbitMQ's queue message_stats count them; the
// management API turns samples of them into rates. They are plain
// fields guarded by the queue's lock, which every path that counts
// already holds.
type Counts struct {
	Published      uint64 // messages enqueued
	Delivered      uint64 // pushed to consumers that acknowledge (deliver)
	DeliveredNoAck uint64 // pushed to auto-ack consumers (deliver_no_ack)
	Got            uint64 // taken by get or lease (SQS receive) to be acknowledged (get)
	GotNoAck       uint64 // taken by get with auto-ack (get_no_ack)
	Acked          uint64 // acknowledged (AMQP ack, SQS delete)
	Redelivered    uint64 // deliveries and gets of a message delivered before (redeliver)
}

// count adds one delivery or get: to acked or noAck by autoAck, and to
// Redelivered when it is a redelivery.
func (c *Counts) count(acked, noAck *uint64, autoAck, redelivered bool) {
	if autoAck {
		*noAck++
	} else {
		*acked++
	}
	if redelivered {
		c.Redelivered++
	}
}

// Add adds o's totals to c.
func (c *Counts) Add(o Counts) {
	c.Published += o.Published
	c.Delivered += o.Delivered
	c.DeliveredNoAck += o.DeliveredNoAck
	c.Got += o.Got
	c.GotNoAck += o.GotNoAck
	c.Acked += o.Acked
	c.Redelivered += o.Redelivered
}

// Counts returns the queue's message totals.
func (q *Queue) Counts() Counts {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.counts
}
