package queue

// PurgeAll removes every message the queue holds — ready, delayed,
// leased and unacknowledged — and returns how many (SQS PurgeQueue, which
// drops in-flight messages too; AMQP queue.purge is Purge). Leases and
// deliveries are settled: a later Ack, AckLease, Nack or ChangeLease of a
// purged seq returns ErrUnknownSeq. Consumers get their prefetch credit
// back, and the store entries are removed.
func (q *Queue) PurgeAll() (int, error) {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return 0, ErrDeleted
	}
	n := 0
	for e := q.popHead(); e != nil; e = q.popHead() {
		q.release(e)
		n++
	}
	var wake []*Subscription
	for seq, e := range q.inflight {
		delete(q.inflight, seq)
		if e.sub != nil && e.sub.releaseCredit(1) {
			wake = append(wake, e.sub)
		}
		if e.state == stLeased {
			q.timers.remove(e)
		}
		q.release(e)
		n++
	}
	for len(q.timers) > 0 { // what is left in the heap is delayed
		e := q.timers[0]
		q.timers.remove(e)
		q.release(e)
		n++
	}
	q.nleased, q.ndelayed = 0, 0
	clear(q.groups)
	q.unlock()
	for _, s := range wake {
		s.wakeLimiters()
	}
	return n, nil
}
