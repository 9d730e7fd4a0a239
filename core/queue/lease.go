package queue

import (
	"context"
	"time"
)

// Lease takes up to n ready messages for visibility (SQS ReceiveMessage):
// each is invisible until its deadline, then ready again unless acked
// (DeleteMessage) first. Every receive raises the delivery count; a
// message already received Options.MaxReceiveCount times is redriven
// instead of returned. In FIFO mode one call may take several messages of
// a group, in order; the group stays blocked while any is leased.
func (q *Queue) Lease(n int, visibility time.Duration) []Delivery {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted || n <= 0 {
		return nil
	}
	now := q.clock.Now().UnixNano()
	q.touch(now)
	return q.lease(n, visibility, now)
}

// LeaseWait is Lease that waits (SQS long polling) until at least one
// message is ready, the context ends or the queue is deleted. It returns
// as soon as a message arrives, with what is ready at that moment.
func (q *Queue) LeaseWait(ctx context.Context, n int, visibility time.Duration) ([]Delivery, error) {
	if n <= 0 {
		return nil, nil
	}
	return q.wait(ctx, &waiter{n: n, lease: true, vis: visibility})
}

// lease takes up to n messages under one batch id.
func (q *Queue) lease(n int, vis time.Duration, now int64) []Delivery {
	q.batch++
	batch := q.batch
	var ds []Delivery
	for len(ds) < n {
		e := q.take(&now, batch)
		if e == nil {
			break
		}
		if m := q.cfg.Options.MaxReceiveCount; m > 0 && e.deliveries >= m {
			q.redrive(e, now)
			continue
		}
		if ds == nil {
			ds = make([]Delivery, 0, min(n, 16)) // not grown 1, 2, 4, 8, 16 for an SQS receive of 10
		}
		e.deliveries++
		if e.firstRecv == 0 {
			e.firstRecv = now
		}
		e.state, e.notBefore, e.batch = stLeased, now+int64(vis), batch
		q.inflight[e.seq] = e
		q.nleased++
		q.timers.push(e)
		q.arm(e.notBefore)
		q.groupTake(e, batch)
		if e.persisted {
			q.deps.Store.Update(q.cfg.Key, q.storeEntry(e), nil)
		}
		ds = append(ds, Delivery{Queue: q, Seq: e.seq, Msg: e.msg,
			Redelivered: e.redelivered || e.deliveries > 1, DeliveryCount: e.deliveries,
			FirstReceived: e.firstRecv})
		q.counts.count(&q.counts.Got, &q.counts.GotNoAck, false, e.deliveries > 1)
	}
	return ds
}

// redrive moves a message past its max receive count: to the redrive
// target queue by the default exchange when one is set, else by
// dead-lettering with reason delivery_limit.
func (q *Queue) redrive(e *entry, now int64) {
	target, dl := q.cfg.Options.RedriveTarget, q.deps.DeadLetter
	if target == "" || dl == nil {
		q.deadLetter(e, reasonDeliveryLimit, now)
		return
	}
	m := *e.msg
	m.ID, m.DelayUntil = 0, 0
	q.deps.Tally.Face(m.Origin).DeadLettered(1)
	q.pending = append(q.pending, func() { dl(&m, "", target) })
	q.release(e)
}

// ChangeLease moves a leased message's deadline (SQS
// ChangeMessageVisibility); a zero or past deadline makes it ready now.
// The delivery count is not changed.
func (q *Queue) ChangeLease(seq uint64, deadline time.Time) error {
	return q.ChangeLeaseIf(seq, 0, deadline)
}

// ChangeLeaseIf is ChangeLease for the receive that returned
// deliveryCount (an SQS receipt handle): when the message was received
// again since, it refuses with ErrStaleDelivery and changes nothing.
// deliveryCount 0 matches any receive.
func (q *Queue) ChangeLeaseIf(seq uint64, deliveryCount uint32, deadline time.Time) error {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return ErrDeleted
	}
	e := q.inflight[seq]
	if e == nil {
		if l, i := q.findReady(seq); l >= 0 {
			e = q.ready[l].at(i)
		}
	}
	switch {
	case e == nil:
		return ErrUnknownSeq
	case deliveryCount != 0 && e.deliveries != deliveryCount:
		return ErrStaleDelivery
	case e.state != stLeased:
		return ErrUnknownSeq
	}
	now := q.clock.Now().UnixNano()
	if deadline.IsZero() || deadline.UnixNano() <= now {
		q.timers.remove(e)
		q.makeReady(e)
		if e.persisted {
			q.deps.Store.Update(q.cfg.Key, q.storeEntry(e), nil)
		}
		q.dispatch(now)
		return nil
	}
	e.notBefore = deadline.UnixNano()
	q.timers.fix(e.hidx)
	q.arm(e.notBefore)
	if e.persisted {
		q.deps.Store.Update(q.cfg.Key, q.storeEntry(e), nil)
	}
	return nil
}

// AckLease settles the message as the receive that returned deliveryCount
// left it (SQS DeleteMessage with a receipt handle):
//   - leased by that receive: the message leaves the queue, as Ack;
//   - received again since (or delivered to a consumer): ErrStaleDelivery,
//     and the message stays (AWS accepts a standard queue's DeleteMessage
//     with an old receipt handle without deleting the newer receive);
//   - its lease expired and it is ready again, not yet received again: it
//     leaves the queue all the same (the handle is still the latest, as on
//     AWS standard queues), except in FIFO mode, where an expired lease is
//     refused with ErrStaleDelivery (AWS: "The receipt handle has expired");
//   - no longer in the queue: ErrUnknownSeq.
func (q *Queue) AckLease(seq uint64, deliveryCount uint32) error {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return ErrDeleted
	}
	e := q.inflight[seq]
	if e == nil {
		return q.ackReady(seq, deliveryCount)
	}
	if e.deliveries != deliveryCount || e.state != stLeased {
		return ErrStaleDelivery
	}
	if _, err := q.settle(seq); err != nil {
		return err
	}
	q.counts.Acked++
	q.release(e)
	q.dispatch(0)
	return nil
}

// ackReady removes a ready message whose lease by the receive numbered
// deliveryCount expired (see AckLease).
func (q *Queue) ackReady(seq uint64, deliveryCount uint32) error {
	l, i := q.findReady(seq)
	if l < 0 {
		return ErrUnknownSeq
	}
	d := &q.ready[l]
	e := d.at(i)
	if e.deliveries != deliveryCount || q.cfg.Options.FIFO {
		return ErrStaleDelivery
	}
	d.removeAt(i)
	q.nready--
	q.readyB -= e.size
	q.release(e)
	return nil
}

// findReady returns the ready level and index of seq, or -1, -1.
func (q *Queue) findReady(seq uint64) (int, int) {
	for l := range q.ready {
		if i := q.ready[l].find(seq); i >= 0 {
			return l, i
		}
	}
	return -1, -1
}
