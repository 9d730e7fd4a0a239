package queue

import "time"

// Flow control. A queue whose consumers cannot keep up is congested: it has
// consumers and more than flowHigh ready messages (or flowHighBytes of ready
// bodies). Publishers that routed a message to it see a channel from
// Congested and may wait on it before publishing more (the AMQP face pauses
// the publishing connection's reader, as RabbitMQ's credit flow does), so
// that the CPU goes to the consumers and the backlog, its memory and its
// latency stay bounded. The channel is closed when the ready count is back
// under flowLow, or the queue loses its consumers or is deleted. A queue
// without consumers is never congested: a backlog that waits for consumers
// is what queues are for (memory alarms bound it instead). Nor is one whose
// consumers have stalled (nothing delivered for flowStall: a full prefetch
// window that is not being acked): holding publishers back would not help
// it drain, and a connection that both publishes and consumes would
// otherwise wait on its own acks.
const (
	flowHigh      = 8192
	flowLow       = 2048
	flowHighBytes = 32 << 20
	flowLowBytes  = 8 << 20
	flowStall     = int64(50 * time.Millisecond)
)

// flowState is a queue's congestion bookkeeping, guarded by the queue's mu.
type flowState struct {
	delivered uint64 // pushes to consumers so far
	mark      uint64 // delivered when progress was last seen
	markAt    int64  // unix nanos of that
	stalled   uint64 // delivered when the consumers were found stalled
}

// updateFlow moves the queue in or out of congestion; q.mu must be held.
// It reads the clock only while the queue is over its high watermark.
func (q *Queue) updateFlow() {
	cur := q.congestion.Load()
	f := &q.flow
	if cur == nil {
		if len(q.subs) > 0 && !q.deleted && (q.nready > flowHigh || q.readyB > flowHighBytes) &&
			f.delivered != f.stalled {
			ch := make(chan struct{})
			q.congestion.Store(&ch)
			f.mark, f.markAt = f.delivered, q.clock.Now().UnixNano()
		}
		return
	}
	release := len(q.subs) == 0 || q.deleted || (q.nready <= flowLow && q.readyB <= flowLowBytes)
	if !release {
		now := q.clock.Now().UnixNano()
		switch {
		case f.delivered != f.mark:
			f.mark, f.markAt = f.delivered, now
		case now-f.markAt > flowStall:
			f.stalled, release = f.delivered, true
		}
	}
	if release {
		close(*cur)
		q.congestion.Store(nil)
	}
}

// Congested returns nil when the queue keeps up with its publishers, or a
// channel that is closed once it has caught up. It does not lock.
func (q *Queue) Congested() <-chan struct{} {
	if p := q.congestion.Load(); p != nil {
		return *p
	}
	return nil
}
