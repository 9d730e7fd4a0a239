package queue

import "sync"

// Limiter is a prefetch window: a count of unacknowledged deliveries and a
// maximum (0 = unlimited). The AMQP face creates one per consumer
// (basic.qos global=false) and one per channel (global=true, shared by the
// channel's consumers on every queue); a consumer receives a message only
// when all its limiters have room. Auto-ack consumers ignore limiters, as
// RabbitMQ's do.
//
// A queue that finds a limiter full registers itself on it; when credit
// frees, the releasing call wakes those queues after every lock is
// released, so no queue lock is ever taken under another.
type Limiter struct {
	mu      sync.Mutex // guards max, count, waiters
	max     int
	count   int
	waiters []*Queue // queues that found the limiter full, each once
}

// NewLimiter returns a Limiter allowing max unacknowledged deliveries
// (0 = unlimited).
func NewLimiter(max int) *Limiter { return &Limiter{max: max} }

// SetMax changes the window (basic.qos again) and wakes waiting queues if
// it grew.
func (l *Limiter) SetMax(max int) {
	l.mu.Lock()
	grew := max == 0 || max > l.max
	l.max = max
	l.mu.Unlock()
	if grew {
		l.wake()
	}
}

// Count returns the deliveries currently held against the limiter.
func (l *Limiter) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count
}

// acquire takes one unit of credit, or registers q to be woken and fails.
func (l *Limiter) acquire(q *Queue) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max == 0 || l.count < l.max {
		l.count++
		return true
	}
	for _, w := range l.waiters {
		if w == q {
			return false
		}
	}
	l.waiters = append(l.waiters, q)
	return false
}

// release returns n units and reports whether queues wait to be woken.
func (l *Limiter) release(n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count -= n
	if l.count < 0 {
		l.count = 0
	}
	return len(l.waiters) > 0
}

// releaseTo returns n units on behalf of q, which dispatches next: q
// leaves the waiters (in place, so the slice is reused), and it reports
// whether other queues wait to be woken.
func (l *Limiter) releaseTo(n int, q *Queue) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count -= n
	if l.count < 0 {
		l.count = 0
	}
	for i, w := range l.waiters {
		if w == q {
			l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
			l.waiters[len(l.waiters):cap(l.waiters)][0] = nil
			break
		}
	}
	return len(l.waiters) > 0
}

// wake asks every waiting queue to dispatch. It must be called with no
// queue lock held.
func (l *Limiter) wake() {
	l.mu.Lock()
	ws := l.waiters
	l.waiters = nil
	l.mu.Unlock()
	for _, q := range ws {
		q.Dispatch()
	}
}

// forget removes q from the waiters (the queue was deleted).
func (l *Limiter) forget(q *Queue) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, w := range l.waiters {
		if w == q {
			l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
			return
		}
	}
}
