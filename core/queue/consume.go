package queue

import "github.com/junctionmq/junction/core/message"

// Consumer receives pushed deliveries.
type Consumer interface {
	// Deliver hands one message to the consumer. It is called with the
	// queue's lock held: it must not block and must not call back into the queue.
	Deliver(d Delivery)
}

// CancelNotifier is implemented by consumers that want to hear of a
// server-initiated cancel (the queue was deleted): AMQP basic.cancel. It
// is called with no queue lock held.
type CancelNotifier interface {
	Cancelled()
}

// ActiveNotifier is implemented by consumers of a single-active-consumer
// queue that want to hear when they become the active one. It is called
// with the queue's lock held, under Deliver's rules.
type ActiveNotifier interface {
	ActiveChanged(active bool)
}

// Delivery is one message handed out by a queue.
type Delivery struct {
	Queue         *Queue
	Seq           uint64 // ack id in this queue
	Msg           *message.Message
	Redelivered   bool
	DeliveryCount uint32 // deliveries including this one (SQS ApproximateReceiveCount)
	FirstReceived int64  // unix nanos of the message's first lease (SQS ApproximateFirstReceiveTimestamp); set by Lease only
	// Via is Publishing.Via when the delivery is made by that Publish
	// call, on its caller's goroutine, before it returns; nil otherwise.
	// A face uses it to leave the write of the delivery to the publisher.
	Via any
}

// ConsumeOptions are a consumer's settings.
type ConsumeOptions struct {
	Tag       string
	AutoAck   bool       // settled on delivery; limiters do not apply
	Exclusive bool       // no other consumer may share the queue
	Priority  int32      // x-priority: higher first while they have credit
	Limiters  []*Limiter // prefetch windows (per consumer, per channel)
	// Flow gates an AutoAck consumer: while the face holds it
	// (Limiter.Hold), the queue skips the consumer as one at its prefetch
	// limit and waits on it (Limiter.Wake). nil: never held.
	Flow *Limiter
}

// Subscription is a consumer registered on a queue.
type Subscription struct {
	q      *Queue
	c      Consumer
	opts   ConsumeOptions
	order  uint64 // registration order (single active consumer hand-over)
	active bool   // guarded by q.mu: it may receive (always, unless SAC)
	gone   bool   // guarded by q.mu: cancelled
}

// Tag returns the consumer tag.
func (s *Subscription) Tag() string { return s.opts.Tag }

// Active reports whether the subscription receives messages: always, except
// on a single-active-consumer queue where only one does.
func (s *Subscription) Active() bool {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	return s.active && !s.gone
}

// Consume registers a push consumer and starts delivering to it.
func (q *Queue) Consume(c Consumer, o ConsumeOptions) (*Subscription, error) {
	if c == nil {
		return nil, ErrNilConsumer
	}
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return nil, ErrDeleted
	}
	if q.excl || (o.Exclusive && len(q.subs) > 0) {
		return nil, ErrExclusiveConsumer
	}
	q.nsubs++
	s := &Subscription{q: q, c: c, opts: o, order: q.nsubs}
	i := len(q.subs)
	for i > 0 && q.subs[i-1].opts.Priority < o.Priority {
		i--
	}
	q.subs = append(q.subs, nil)
	copy(q.subs[i+1:], q.subs[i:])
	q.subs[i] = s
	q.excl = o.Exclusive
	q.everSub = true
	q.expired = false
	q.lastUsed = q.clock.Now().UnixNano()
	if !q.cfg.Args.SingleActiveConsumer {
		s.active = true
	} else if q.active == nil {
		q.activate(s)
	}
	q.dispatch(0)
	return s, nil
}

// activate makes s the single active consumer.
func (q *Queue) activate(s *Subscription) {
	q.active = s
	s.active = true
	if n, ok := s.c.(ActiveNotifier); ok {
		n.ActiveChanged(true)
	}
}

// Cancel removes a consumer. Its unacked messages stay unacked until the
// face settles or requeues them (AMQP: on channel close).
func (q *Queue) Cancel(s *Subscription) error {
	q.mu.Lock()
	defer q.unlock()
	if s == nil || s.q != q || s.gone {
		return ErrUnknownConsumer
	}
	s.gone, s.active = true, false
	for i, x := range q.subs {
		if x == s {
			q.subs = append(q.subs[:i], q.subs[i+1:]...)
			break
		}
	}
	q.subs = q.subs[:len(q.subs):len(q.subs)]
	if s.opts.Exclusive {
		q.excl = false
	}
	if q.active == s {
		q.active = nil
		if len(q.subs) > 0 {
			q.activate(q.oldestSub())
		}
	}
	q.touch(q.clock.Now().UnixNano())
	if len(q.subs) == 0 && q.cfg.AutoDelete && q.everSub && q.deps.OnAutoDelete != nil {
		f := q.deps.OnAutoDelete
		q.pending = append(q.pending, func() { f(q) })
	}
	q.dispatch(0)
	return nil
}

// oldestSub is the earliest registered subscription: single active
// consumer hands over in registration order.
func (q *Queue) oldestSub() *Subscription {
	best := q.subs[0]
	for _, s := range q.subs[1:] {
		if s.order < best.order {
			best = s
		}
	}
	return best
}

// Dispatch delivers what it can to consumers and waiters. Faces rarely
// need it: limiters wake blocked queues themselves.
func (q *Queue) Dispatch() {
	q.mu.Lock()
	defer q.unlock()
	q.dispatch(0)
}

// dispatch hands ready messages to waiters, then consumers, while both
// exist. now is 0 when not yet read.
func (q *Queue) dispatch(now int64) {
	for q.nready > 0 && len(q.waiters) > 0 {
		if !q.serveWaiter(&now) {
			break
		}
	}
	for q.nready > 0 && len(q.subs) > 0 && !q.deleted {
		s := q.pickSub()
		if s == nil {
			return
		}
		e := q.take(&now, 0)
		if e == nil {
			s.releaseCredit(1)
			return
		}
		q.deliver(s, e)
	}
}

// pickSub returns a consumer with credit (credit taken) and rotates it to
// the back of its priority group, or nil.
func (q *Queue) pickSub() *Subscription {
	if q.cfg.Args.SingleActiveConsumer {
		if q.active != nil && q.active.acquire(q) {
			return q.active
		}
		return nil
	}
	for i, s := range q.subs {
		if !s.acquire(q) {
			continue
		}
		j := i
		for j+1 < len(q.subs) && q.subs[j+1].opts.Priority == s.opts.Priority {
			q.subs[j] = q.subs[j+1]
			j++
		}
		q.subs[j] = s
		return s
	}
	return nil
}

// acquire takes one credit from every limiter of s, or none; an auto-ack
// consumer takes none, and passes while its flow gate is open.
func (s *Subscription) acquire(q *Queue) bool {
	if s.opts.AutoAck {
		return s.opts.Flow == nil || s.opts.Flow.pass(q)
	}
	for i, l := range s.opts.Limiters {
		if !l.acquire(q) {
			for _, r := range s.opts.Limiters[:i] {
				r.release(1)
			}
			return false
		}
	}
	return true
}

// releaseCredit returns n credits and reports whether a limiter has
// queues to wake (call wakeLimiters after unlocking).
func (s *Subscription) releaseCredit(n int) bool {
	if s.opts.AutoAck {
		return false
	}
	wake := false
	for _, l := range s.opts.Limiters {
		if l.release(n) {
			wake = true
		}
	}
	return wake
}

// releaseCreditTo is releaseCredit for a caller that dispatches q right
// after, under the lock it holds (Ack, Nack): q is taken off the
// limiters' waiters, as that dispatch does what waking q would (and
// registers q again where it is still blocked). Only other queues are
// woken: with one queue per limiter, an ack costs no second Dispatch.
func (s *Subscription) releaseCreditTo(n int, q *Queue) bool {
	if s.opts.AutoAck {
		return false
	}
	wake := false
	for _, l := range s.opts.Limiters {
		if l.releaseTo(n, q) {
			wake = true
		}
	}
	return wake
}

// wakeLimiters wakes queues blocked on s's limiters; no lock may be held.
func (s *Subscription) wakeLimiters() {
	for _, l := range s.opts.Limiters {
		l.wake()
	}
}

// take removes the next deliverable ready entry, expiring heads on the way;
// in FIFO mode it skips blocked groups (batch may keep taking from groups
// it took before).
func (q *Queue) take(now *int64, batch uint64) *entry {
	for l := len(q.ready) - 1; l >= 0; l-- {
		d := &q.ready[l]
		for i := 0; i < d.n; {
			e := d.at(i)
			if at := q.deadline(e); at != 0 {
				if *now == 0 {
					*now = q.clock.Now().UnixNano()
				}
				if at < *now {
					d.removeAt(i)
					q.nready--
					q.readyB -= e.size
					q.deadLetter(e, reasonExpired, *now)
					continue
				}
			}
			if e.msg == nil && !q.pageIn(d, i) { // the store lost it: it cannot be delivered
				d.removeAt(i)
				q.nready--
				q.readyB -= e.size
				q.pageLost++
				q.release(e)
				continue
			}
			if q.cfg.Options.FIFO && q.groupBlocked(e, batch) {
				i++
				continue
			}
			d.removeAt(i)
			q.nready--
			q.readyB -= e.size
			return e
		}
	}
	return nil
}

// groupBlocked reports whether e's group has a message in flight that
// batch did not take.
func (q *Queue) groupBlocked(e *entry, batch uint64) bool {
	g := q.groups[e.msg.GroupID]
	return e.msg.GroupID != "" && g != nil && g.inflight > 0 && (batch == 0 || g.batch != batch)
}

// groupTake records e's group as in flight.
func (q *Queue) groupTake(e *entry, batch uint64) {
	if !q.cfg.Options.FIFO || e.msg.GroupID == "" {
		return
	}
	if q.groups == nil {
		q.groups = make(map[string]*group)
	}
	g := q.groups[e.msg.GroupID]
	if g == nil {
		g = &group{}
		q.groups[e.msg.GroupID] = g
	}
	g.inflight++
	g.batch = batch
}

// groupDone releases e's hold on its group.
func (q *Queue) groupDone(e *entry) {
	if !q.cfg.Options.FIFO || e.msg.GroupID == "" {
		return
	}
	if g := q.groups[e.msg.GroupID]; g != nil {
		if g.inflight--; g.inflight <= 0 {
			delete(q.groups, e.msg.GroupID)
		}
	}
}

// deliver hands e to s.
func (q *Queue) deliver(s *Subscription, e *entry) {
	q.flow.delivered++
	e.deliveries++
	d := Delivery{Queue: q, Seq: e.seq, Msg: e.msg,
		Redelivered: e.redelivered || e.deliveries > 1, DeliveryCount: e.deliveries, Via: q.via}
	q.counts.count(&q.counts.Delivered, &q.counts.DeliveredNoAck, s.opts.AutoAck, d.Redelivered)
	if s.opts.AutoAck {
		s.c.Deliver(d)
		q.release(e)
		return
	}
	e.state, e.sub = stUnacked, s
	q.inflight[e.seq] = e
	q.groupTake(e, 0)
	if e.persisted {
		q.deps.Store.Update(q.cfg.Key, q.storeEntry(e), nil)
	}
	s.c.Deliver(d)
}
