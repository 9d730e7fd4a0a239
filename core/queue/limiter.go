package queue

import (
	"sync"
	"sync/atomic"
)

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
//
// A limiter is also a gate (Hold): a face holds an auto-ack consumer's
// flow limiter (ConsumeOptions.Flow) while the consumer's connection has
// more output pending than it will buffer, and the queues skip the
// consumer, and wait on the limiter, as they do at a prefetch limit.
type Limiter struct {
	mu      sync.Mutex // guards max, count, waiters
	max     int
	count   int
	waiters []*Queue    // queues that found the limiter full or held, each once
	held    atomic.Bool // Hold: closed to every consumer given it
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

// Hold closes (true) or opens (false) the limiter as a flow gate. It
// takes no lock, so a face may call it under its own locks; after
// opening, call Wake with no lock held to wake the queues that stopped on
// it.
func (l *Limiter) Hold(held bool) { l.held.Store(held) }

// Wake asks the queues that stopped on the limiter to dispatch again. It
// must be called with no queue lock held.
func (l *Limiter) Wake() { l.wake() }

// pass reports whether the gate is open, or registers q to be woken and
// fails. It counts nothing (auto-ack consumers hold no credit). The held
// flag is read again under mu, which Wake takes after Open: a queue that
// registers is always woken by the next Wake.
func (l *Limiter) pass(q *Queue) bool {
	if !l.held.Load() {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held.Load() {
		return true
	}
	l.addWaiter(q)
	return false
}

// addWaiter registers q to be woken, once; l.mu held.
func (l *Limiter) addWaiter(q *Queue) {
	for _, w := range l.waiters {
		if w == q {
			return
		}
	}
	l.waiters = append(l.waiters, q)
}

// acquire takes one unit of credit, or registers q to be woken and fails.
func (l *Limiter) acquire(q *Queue) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max == 0 || l.count < l.max {
		l.count++
		return true
	}
	l.addWaiter(q)
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
