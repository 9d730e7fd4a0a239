package queue

// Flow control. A queue whose consumers cannot keep up is congested: it has
// consumers and more than flowHigh ready messages (or flowHighBytes of ready
// bodies). Publishers that routed a message to it see a channel from
// Congested and may wait on it before publishing more (the AMQP face pauses
// the publishing connection's reader, as RabbitMQ's credit flow does), so
// that the CPU goes to the consumers and the backlog, its memory and its
// latency stay bounded. The channel is closed when the ready count is back
// under flowLow, or the queue loses its consumers or is deleted. A queue
// without consumers is never congested: a backlog that waits for consumers
// is what queues are for (memory alarms bound it instead).
const (
	flowHigh      = 8192
	flowLow       = 2048
	flowHighBytes = 32 << 20
	flowLowBytes  = 8 << 20
)

// updateFlow moves the queue in or out of congestion; q.mu must be held.
func (q *Queue) updateFlow() {
	cur := q.congestion.Load()
	if cur == nil {
		if len(q.subs) > 0 && !q.deleted && (q.nready > flowHigh || q.readyB > flowHighBytes) {
			ch := make(chan struct{})
			q.congestion.Store(&ch)
		}
		return
	}
	if len(q.subs) == 0 || q.deleted || (q.nready <= flowLow && q.readyB <= flowLowBytes) {
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
