package queue

import (
	"sync"
	"time"
)

// Clock is the time source and timer service queues use. One Clock serves
// every queue: a queue arms at most one timer, and only while it has a
// deadline to meet (message TTL, delay, lease, x-expires), so idle queues
// cost nothing.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once, in its own goroutine or the caller of
	// ManualClock.Advance, after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is an armed AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not run yet and reports whether it did.
	Stop() bool
}

// SystemClock is the wall clock, with runtime timers.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// ManualClock is a Clock that moves only when told, for deterministic
// tests of TTL, delays, leases and expiry in any package.
type ManualClock struct {
	mu     sync.Mutex // guards now, timers
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	c       *ManualClock
	at      time.Time
	f       func()
	stopped bool // guarded by c.mu
}

// NewManualClock returns a ManualClock reading start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arms f to run when the clock is advanced to now+d.
func (c *ManualClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop disarms t.
func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the clock forward by d, running every timer that falls due
// (in deadline order, each with the clock set to its deadline) in the
// caller's goroutine. Timers armed by those callbacks run too if due.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		t := c.nextDue(end)
		if t == nil {
			break
		}
		t.f()
	}
	c.mu.Lock()
	c.now = end
	c.mu.Unlock()
}

// nextDue removes and returns the earliest live timer due by end, setting
// the clock to its deadline.
func (c *ManualClock) nextDue(end time.Time) *manualTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	best := -1
	for i, t := range c.timers {
		if !t.stopped && !t.at.After(end) && (best < 0 || t.at.Before(c.timers[best].at)) {
			best = i
		}
	}
	if best < 0 {
		live := c.timers[:0]
		for _, t := range c.timers {
			if !t.stopped {
				live = append(live, t)
			}
		}
		c.timers = live
		return nil
	}
	t := c.timers[best]
	t.stopped = true
	if t.at.After(c.now) {
		c.now = t.at
	}
	return t
}
