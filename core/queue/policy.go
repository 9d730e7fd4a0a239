package queue

// SetPolicyArgs changes, on a live queue, the settings a RabbitMQ policy
// may change: x-message-ttl, x-expires, x-max-length, x-max-length-bytes,
// x-overflow, x-dead-letter-exchange, x-dead-letter-routing-key and
// x-delivery-limit. a holds the queue's effective arguments (declared
// arguments combined with the policy, as the broker resolves them); its
// other fields (type, priorities, single active consumer) and the
// arguments as declared, which a redeclare is compared with, are kept.
//
// The new settings apply from now on, as RabbitMQ's
// rabbit_amqqueue_process applies a changed policy: a lower max-length
// drops (or dead-letters) the excess heads at once in drop-head mode; a
// new message TTL applies to later publishes, messages already queued
// keep the expiry they were given; a changed x-expires restarts the
// expiry countdown from now; the dead-letter target and delivery limit
// apply to the next message dead-lettered or redelivered. The queue's
// timer is re-armed for the new deadlines.
func (q *Queue) SetPolicyArgs(a Args) error {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return ErrDeleted
	}
	cur := &q.cfg.Args
	expiresChanged := cur.Expires != a.Expires
	cur.MessageTTL, cur.Expires = a.MessageTTL, a.Expires
	cur.MaxLength, cur.MaxLengthBytes, cur.Overflow = a.MaxLength, a.MaxLengthBytes, a.Overflow
	cur.DeadLetterExchange, cur.HasDLX = a.DeadLetterExchange, a.HasDLX
	cur.DeadLetterRoutingKey, cur.HasDLRK = a.DeadLetterRoutingKey, a.HasDLRK
	cur.DeliveryLimit = a.DeliveryLimit
	o := q.cfg.Options
	q.timed = cur.MessageTTL >= 0 || o.DefaultDelay > 0 || o.DedupWindow > 0 || o.Retention > 0
	now := q.clock.Now().UnixNano()
	if expiresChanged {
		q.lastUsed = now // RabbitMQ restarts its expiry timer (init_exp)
	}
	q.expireHeads(now)
	q.enforceLimits(now)
	q.dispatch(now)
	q.rearm()
	return nil
}
