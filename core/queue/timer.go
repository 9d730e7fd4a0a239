package queue

import "time"

// arm makes sure the queue's timer fires no later than at (unix nanos).
// One runtime timer per queue, armed only while a deadline exists.
func (q *Queue) arm(at int64) {
	if at <= 0 || q.deleted || (q.timerAt != 0 && q.timerAt <= at) {
		return
	}
	if q.timer != nil {
		q.timer.Stop()
	}
	q.timerAt = at
	d := time.Duration(at - q.clock.Now().UnixNano())
	q.timer = q.clock.AfterFunc(max(d, 0), q.onTimerFn)
}

// onTimer runs due work: delayed messages and expired leases become ready,
// expired heads go, x-expires fires; then it re-arms for the next deadline.
func (q *Queue) onTimer() {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return
	}
	q.timer, q.timerAt = nil, 0
	now := q.clock.Now().UnixNano()
	for len(q.timers) > 0 && q.timers[0].notBefore <= now {
		e := q.timers[0]
		q.timers.remove(e)
		q.makeReady(e)
	}
	q.expireHeads(now)
	q.dispatch(now)
	q.checkExpires(now)
	q.rearm()
}

// makeReady returns a delayed or leased entry to the ready levels.
func (q *Queue) makeReady(e *entry) {
	switch e.state {
	case stDelayed:
		q.ndelayed--
	case stLeased:
		q.nleased--
		delete(q.inflight, e.seq)
		q.groupDone(e)
		e.redelivered = true
	}
	e.notBefore = 0
	q.pushReady(e)
}

// expireHeads drops or dead-letters (reason expired) expired messages at
// the head of each ready level, as RabbitMQ expires at the head.
func (q *Queue) expireHeads(now int64) {
	for l := range q.ready {
		d := &q.ready[l]
		for d.n > 0 {
			e := d.at(0)
			if at := q.deadline(e); at == 0 || at >= now {
				break
			}
			d.popFront()
			q.nready--
			q.readyB -= e.size
			q.deadLetter(e, reasonExpired, now)
		}
	}
}

// checkExpires reports an unused queue once its x-expires has passed.
func (q *Queue) checkExpires(now int64) {
	exp := q.cfg.Args.Expires
	if exp <= 0 || q.expired || len(q.subs) > 0 || now < q.lastUsed+int64(exp) {
		return
	}
	q.expired = true
	if f := q.deps.OnExpire; f != nil {
		q.pending = append(q.pending, func() { f(q) })
	}
}

// rearm arms the timer for the earliest remaining deadline.
func (q *Queue) rearm() {
	if len(q.timers) > 0 {
		q.arm(q.timers[0].notBefore)
	}
	for l := range q.ready {
		if d := &q.ready[l]; d.n > 0 {
			if at := q.deadline(d.at(0)); at != 0 {
				q.arm(at + 1)
			}
		}
	}
	if exp := q.cfg.Args.Expires; exp > 0 && !q.expired && len(q.subs) == 0 {
		q.arm(q.lastUsed + int64(exp))
	}
}
