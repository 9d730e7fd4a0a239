package queue

import (
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/tally"
)

// Dead-letter reasons, as RabbitMQ writes them in x-death.
const (
	reasonRejected      = "rejected"
	reasonExpired       = "expired"
	reasonMaxlen        = "maxlen"
	reasonDeliveryLimit = "delivery_limit"
)

// deadLetter removes e from the queue and, when a dead-letter exchange is
// configured, queues the dead-lettered copy for Deps.DeadLetter.
// A stub is paged back in only when there is somewhere to send it.
func (q *Queue) deadLetter(e *entry, reason string, now int64) {
	if e.msg == nil && (!q.cfg.Args.HasDLX || q.deps.DeadLetter == nil || !q.loadPaged(e)) {
		q.dropped(nil, reason)
		q.release(e)
		return
	}
	q.deadLetterMsg(e.msg, reason, now)
	q.release(e)
}

// deadLetterMsg queues a dead-lettered copy of m, unless the queue has no
// dead-letter exchange or the death closes a cycle: m died here before
// and was never rejected on the way (RabbitMQ drops such messages; it
// checks when routing to the target queue, Junction when the message dies
// again in the queue, one lap later).
func (q *Queue) deadLetterMsg(m *message.Message, reason string, now int64) {
	a := &q.cfg.Args
	if !a.HasDLX || q.deps.DeadLetter == nil || reason != reasonRejected && isCycle(m, q.cfg.Name) {
		q.dropped(m, reason)
		return
	}
	if now == 0 {
		now = q.clock.Now().UnixNano()
	}
	rk := m.RoutingKey
	if a.HasDLRK {
		rk = a.DeadLetterRoutingKey
	}
	q.deps.Tally.Face(m.Origin).DeadLettered(1)
	dm := DeadLettered(m, q.cfg.Name, reason, time.Unix(0, now))
	x, dl := a.DeadLetterExchange, q.deps.DeadLetter
	q.pending = append(q.pending, func() { dl(dm, x, rk) })
}

// dropped counts m, dropped for reason without being dead-lettered, under
// the face it entered through (core for a paged-out stub, m nil).
func (q *Queue) dropped(m *message.Message, reason string) {
	f := message.FaceCore
	if m != nil {
		f = m.Origin
	}
	r := tally.Rejected
	switch reason {
	case reasonExpired:
		r = tally.Expired
	case reasonMaxlen:
		r = tally.MaxLen
	case reasonDeliveryLimit:
		r = tally.DeliveryLimit
	}
	q.deps.Tally.Face(f).Dropped(r, 1)
}

// isCycle reports whether m's x-death names queue and no death was a
// rejection.
func isCycle(m *message.Message, queue string) bool {
	v, _ := m.Props.Headers.Get("x-death")
	deaths, _ := v.([]any)
	seen := false
	for _, d := range deaths {
		t, _ := d.(message.Table)
		if r, _ := t.Get("reason"); r == reasonRejected {
			return false
		}
		if qn, _ := t.Get("queue"); qn == queue {
			seen = true
		}
	}
	return seen
}

// DeadLettered returns a new message: a copy of m with its headers updated
// as RabbitMQ 3.13 dead-letters (x-death newest first, one table per
// (queue, reason) whose count is incremented in place and moved to the
// front; x-first-death-* set once; x-last-death-* set each time) and its
// expiration property removed (kept in x-death as original-expiration).
// m is not modified. The copy has no ID: the router assigns one.
func DeadLettered(m *message.Message, queue, reason string, now time.Time) *message.Message {
	dm := *m
	dm.ID, dm.Origin, dm.DelayUntil = 0, message.FaceCore, 0
	h := make(message.Table, len(m.Props.Headers), len(m.Props.Headers)+7)
	copy(h, m.Props.Headers)

	v, had := h.Get("x-death")
	old, _ := v.([]any)
	deaths := make([]any, 1, len(old)+1)
	found := false
	for _, d := range old {
		t, _ := d.(message.Table)
		qn, _ := t.Get("queue")
		rn, _ := t.Get("reason")
		if !found && qn == queue && rn == reason {
			found = true
			deaths[0] = incrementCount(t)
			continue
		}
		deaths = append(deaths, d)
	}
	if !found {
		deaths[0] = deathRecord(m, queue, reason, now)
	}
	exchange := m.Exchange
	if !had {
		h = h.Set("x-first-death-reason", reason).Set("x-first-death-queue", queue).
			Set("x-first-death-exchange", exchange)
	}
	h = h.Set("x-last-death-reason", reason).Set("x-last-death-queue", queue).
		Set("x-last-death-exchange", exchange)
	h = h.Set("x-death", deaths)
	dm.Props.Headers = h
	dm.Props.Flags |= message.FlagHeaders
	dm.Props.Expiration = ""
	dm.Props.Flags &^= message.FlagExpiration
	return &dm
}

// deathRecord is a new x-death table, keys in RabbitMQ's order.
func deathRecord(m *message.Message, queue, reason string, now time.Time) message.Table {
	keys := []any{m.RoutingKey}
	if cc, ok := m.Props.Headers.Get("CC"); ok {
		if arr, ok := cc.([]any); ok {
			keys = append(keys, arr...)
		}
	}
	t := message.Table{
		{Key: "count", Value: int64(1)},
		{Key: "reason", Value: reason},
		{Key: "queue", Value: queue},
		{Key: "time", Value: time.Unix(now.Unix(), 0).UTC()},
		{Key: "exchange", Value: m.Exchange},
		{Key: "routing-keys", Value: keys},
	}
	if m.Props.Flags&message.FlagExpiration != 0 {
		t = append(t, message.Field{Key: "original-expiration", Value: m.Props.Expiration})
	}
	return t
}

// incrementCount returns a copy of an x-death table with count + 1.
func incrementCount(t message.Table) message.Table {
	c := make(message.Table, len(t))
	copy(c, t)
	v, _ := c.Get("count")
	n, _ := message.Int(v)
	return c.Set("count", n+1)
}
