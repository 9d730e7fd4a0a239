package queue

// SetOptions changes the queue's Options from now on (SQS
// SetQueueAttributes). FIFO cannot change (ErrFIFOChange). DefaultDelay
// and DedupWindow apply to later publishes, MaxReceiveCount and
// RedriveTarget to later leases; Retention applies at once to every
// message the queue holds (counted from its arrival), and the queue's
// timer is re-armed for the new deadlines. The caller persists the new
// options with the queue's definition.
func (q *Queue) SetOptions(o Options) error {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return ErrDeleted
	}
	if o.FIFO != q.cfg.Options.FIFO {
		return ErrFIFOChange
	}
	q.cfg.Options = o
	q.timed = q.cfg.Args.MessageTTL >= 0 || o.DefaultDelay > 0 || o.DedupWindow > 0 || o.Retention > 0
	now := q.clock.Now().UnixNano()
	q.expireHeads(now)
	q.dispatch(now)
	q.rearm()
	return nil
}
