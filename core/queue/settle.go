package queue

import (
	"context"
	"time"
)

// Ack settles a delivered or leased message: it leaves the queue.
func (q *Queue) Ack(seq uint64) error {
	q.mu.Lock()
	e, err := q.settle(seq)
	if err != nil {
		q.mu.Unlock()
		return err
	}
	sub := e.sub
	wake := sub != nil && sub.releaseCreditTo(1, q)
	q.counts.Acked++
	q.release(e)
	q.dispatch(0)
	q.unlock()
	if wake {
		sub.wakeLimiters()
	}
	return nil
}

// settle removes seq from the in-flight set.
func (q *Queue) settle(seq uint64) (*entry, error) {
	if q.deleted {
		return nil, ErrDeleted
	}
	e := q.inflight[seq]
	if e == nil {
		return nil, ErrUnknownSeq
	}
	delete(q.inflight, seq)
	if e.state == stLeased {
		q.nleased--
		q.timers.remove(e)
	}
	q.groupDone(e)
	return e, nil
}

// Nack settles a delivered message negatively: requeued to its original
// position (redelivered, unless x-delivery-limit is exceeded: then
// dead-lettered with reason delivery_limit), or dead-lettered with reason
// rejected (dropped without a dead-letter exchange). basic.reject is Nack.
func (q *Queue) Nack(seq uint64, requeue bool) error {
	q.mu.Lock()
	e, err := q.settle(seq)
	if err != nil {
		q.mu.Unlock()
		return err
	}
	sub := e.sub
	wake := sub != nil && sub.releaseCreditTo(1, q)
	if requeue {
		q.requeue(e)
	} else {
		q.deadLetter(e, reasonRejected, 0)
	}
	q.dispatch(0)
	q.unlock()
	if wake {
		sub.wakeLimiters()
	}
	return nil
}

// requeue returns a settled entry to the ready levels, or dead-letters it
// when it has been delivered more times than x-delivery-limit.
func (q *Queue) requeue(e *entry) {
	if lim := q.cfg.Args.DeliveryLimit; lim >= 0 && int64(e.deliveries) > lim {
		q.deadLetter(e, reasonDeliveryLimit, 0)
		return
	}
	e.sub, e.redelivered, e.notBefore = nil, true, 0
	q.pushReady(e)
}

// Requeue returns every listed delivery to the queue, as Nack(seq, true)
// each (the AMQP face calls it for a closed channel's unacked messages or
// basic.recover). It returns ErrUnknownSeq when some seq was not in flight;
// the others are requeued regardless.
func (q *Queue) Requeue(seqs []uint64) error {
	var subs []*Subscription
	var err error
	q.mu.Lock()
	for _, seq := range seqs {
		e, serr := q.settle(seq)
		if serr != nil {
			err = serr
			continue
		}
		if e.sub != nil && e.sub.releaseCredit(1) {
			subs = append(subs, e.sub)
		}
		q.requeue(e)
	}
	q.dispatch(0)
	q.unlock()
	for _, s := range subs {
		s.wakeLimiters()
	}
	return err
}

// Get takes one ready message (AMQP basic.get). Without autoAck it stays
// unacked until Ack or Nack. ok is false when no message is ready.
func (q *Queue) Get(autoAck bool) (d Delivery, ok bool) {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return Delivery{}, false
	}
	var now int64
	q.touch(q.clock.Now().UnixNano())
	e := q.take(&now, 0)
	if e == nil {
		return Delivery{}, false
	}
	return q.hand(e, autoAck), true
}

// hand delivers e by pull: settled at once with autoAck, else unacked.
func (q *Queue) hand(e *entry, autoAck bool) Delivery {
	e.deliveries++
	d := Delivery{Queue: q, Seq: e.seq, Msg: e.msg,
		Redelivered: e.redelivered || e.deliveries > 1, DeliveryCount: e.deliveries}
	q.counts.count(&q.counts.Got, &q.counts.GotNoAck, autoAck, d.Redelivered)
	if autoAck {
		q.release(e)
		return d
	}
	e.state = stUnacked
	q.inflight[e.seq] = e
	q.groupTake(e, 0)
	if e.persisted {
		q.deps.Store.Update(q.cfg.Key, q.storeEntry(e), nil)
	}
	return d
}

// waiter is a blocked GetWait or LeaseWait call.
type waiter struct {
	n       int             // messages wanted
	autoAck bool            // get: settle at once
	lease   bool            // lease instead of get
	vis     time.Duration   // lease visibility
	ch      chan []Delivery // capacity 1; closed when the queue is deleted
}

// GetWait is Get that waits until a message is ready, the context ends
// (ctx.Err()) or the queue is deleted (ErrDeleted). It is woken by Publish,
// with no polling.
func (q *Queue) GetWait(ctx context.Context, autoAck bool) (Delivery, error) {
	ds, err := q.wait(ctx, &waiter{n: 1, autoAck: autoAck})
	if err != nil {
		return Delivery{}, err
	}
	return ds[0], nil
}

// wait serves w at once if messages are ready, else blocks until dispatch
// serves it.
func (q *Queue) wait(ctx context.Context, w *waiter) ([]Delivery, error) {
	w.ch = make(chan []Delivery, 1)
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil, ErrDeleted
	}
	q.touch(q.clock.Now().UnixNano())
	q.waiters = append(q.waiters, w)
	q.dispatch(0)
	q.unlock()
	select {
	case ds, ok := <-w.ch:
		if !ok {
			return nil, ErrDeleted
		}
		return ds, nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	for i, x := range q.waiters {
		if x == w {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			q.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	q.mu.Unlock()
	if ds, ok := <-w.ch; ok { // served while the context ended: keep it
		return ds, nil
	}
	return nil, ErrDeleted
}

// serveWaiter hands ready messages to the oldest waiter; false when none
// could be taken.
func (q *Queue) serveWaiter(now *int64) bool {
	w := q.waiters[0]
	var ds []Delivery
	if w.lease {
		if *now == 0 {
			*now = q.clock.Now().UnixNano()
		}
		ds = q.lease(w.n, w.vis, *now)
	} else if e := q.take(now, 0); e != nil {
		ds = []Delivery{q.hand(e, w.autoAck)}
	}
	if len(ds) == 0 {
		return false
	}
	q.waiters = append(q.waiters[:0], q.waiters[1:]...)
	w.ch <- ds
	return true
}

// Delete deletes the queue: its messages are discarded (store entries
// dropped), consumers are told (CancelNotifier) and waiters get
// ErrDeleted. It returns how many ready messages it held. With ifUnused it
// refuses (ErrInUse) while consumers exist; with ifEmpty (ErrNotEmpty)
// while messages are ready.
func (q *Queue) Delete(ifUnused, ifEmpty bool) (int, error) {
	q.mu.Lock()
	switch {
	case q.deleted:
		q.mu.Unlock()
		return 0, ErrDeleted
	case ifUnused && len(q.subs) > 0:
		q.mu.Unlock()
		return 0, ErrInUse
	case ifEmpty && q.nready > 0:
		q.mu.Unlock()
		return 0, ErrNotEmpty
	}
	n := q.nready
	q.deleted = true
	if q.timer != nil {
		q.timer.Stop()
		q.timer, q.timerAt = nil, 0
	}
	if q.cfg.Durable && q.deps.Store != nil {
		q.deps.Store.DropQueue(q.cfg.Key, nil)
	}
	q.dropPaged()
	subs := q.subs
	q.subs, q.active = nil, nil
	var wake []*Subscription
	for _, e := range q.inflight { // credit held by messages that can no longer be acked
		if e.sub != nil && e.sub.releaseCredit(1) {
			wake = append(wake, e.sub)
		}
	}
	for _, w := range q.waiters {
		close(w.ch)
	}
	q.waiters = nil
	q.ready, q.inflight, q.timers = nil, nil, nil
	q.nready, q.readyB, q.bytes, q.nleased, q.ndelayed = 0, 0, 0, 0, 0
	q.unlock()
	for _, s := range wake {
		s.wakeLimiters()
	}
	for _, s := range subs {
		for _, l := range s.opts.Limiters {
			l.forget(q)
		}
		if s.opts.Flow != nil { // a held gate would keep the deleted queue until it opens
			s.opts.Flow.forget(q)
		}
		if c, ok := s.c.(CancelNotifier); ok {
			c.Cancelled()
		}
	}
	return n, nil
}
