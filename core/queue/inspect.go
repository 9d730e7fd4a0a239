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
