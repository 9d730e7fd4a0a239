package queue

import (
	"fmt"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/store"
)

// Recover loads the queue's durable messages from Deps.Store, in seq
// order, into a new queue (call it before any other method). Messages that
// had been delivered come back ready and redelivered; leased ones keep
// their lease deadline and delayed ones their delay; expired ones are
// removed from the store, not resurrected. It returns how many messages
// it loaded.
func (q *Queue) Recover() (int, error) {
	st := q.deps.Store
	if st == nil {
		return 0, ErrNoStore
	}
	q.mu.Lock()
	defer q.unlock()
	now := q.clock.Now().UnixNano()
	var gone []uint64
	n := 0
	err := st.Messages(q.cfg.Key, func(se store.Entry, data []byte) error {
		m, err := message.Unmarshal(data)
		if err != nil {
			return fmt.Errorf("queue %s seq %d: %w", q.cfg.Key, se.Seq, err)
		}
		if se.Seq >= q.nextSeq {
			q.nextSeq = se.Seq + 1
		}
		e := q.pool.get()
		e.seq, e.msg, e.size, e.persisted = se.Seq, m, m.Size(), true
		e.deliveries, e.prio, e.firstRecv = se.DeliveryCount, q.level(se.Priority), se.FirstReceived
		e.expires = q.expiry(m, max(m.Arrived, 1))
		if at := q.deadline(e); at != 0 && at < now {
			gone = append(gone, se.Seq)
			q.pool.put(e)
			return nil
		}
		q.restore(e, se.NotBefore, now)
		n++
		return nil
	})
	for _, seq := range gone {
		st.Remove(q.cfg.Key, seq, nil)
	}
	q.rearm()
	return n, err
}

// restore places a recovered entry: leased, delayed or ready.
func (q *Queue) restore(e *entry, notBefore, now int64) {
	q.bytes += e.size
	e.redelivered = e.deliveries > 0
	if w := q.cfg.Options.DedupWindow; w > 0 && e.msg.DedupID != "" && e.msg.Arrived+int64(w) > now {
		q.remember(e.msg, e.msg.Arrived+int64(w))
	}
	switch {
	case notBefore > now && e.deliveries > 0:
		e.state, e.notBefore = stLeased, notBefore
		q.inflight[e.seq] = e
		q.nleased++
		q.timers.push(e)
		q.groupTake(e, 0)
	case notBefore > now:
		e.state, e.notBefore = stDelayed, notBefore
		q.ndelayed++
		q.timers.push(e)
	default:
		q.pushReady(e)
	}
}
