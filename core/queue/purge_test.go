package queue

import (
	"errors"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

func TestPurgeAll(t *testing.T) {
	f := newFixture(t, Config{Durable: true, Options: Options{FIFO: true}}, nil)
	var ms []*message.Message
	for _, b := range []string{"ready", "leased", "unacked", "delayed"} {
		m := persistent(msg(b))
		m.GroupID = b
		if b == "delayed" {
			m.DelayUntil = t0.Add(time.Minute).UnixNano()
		}
		ms = append(ms, m)
	}
	for _, m := range ms[1:3] {
		f.q.Publish(Publishing{Msg: m, Data: message.Marshal(nil, m)})
	}
	leased := f.q.Lease(1, time.Minute)
	lim := NewLimiter(1)
	r := &recorder{}
	sub, err := f.q.Consume(r, ConsumeOptions{Limiters: []*Limiter{lim}})
	must(t, err)
	for _, m := range []*message.Message{ms[0], ms[3]} {
		f.q.Publish(Publishing{Msg: m, Data: message.Marshal(nil, m)})
	}
	must(t, f.q.Cancel(sub)) // keep "ready" ready
	eq(t, Stats{Ready: 1, Unacked: 1, Leased: 1, Delayed: 1, Bytes: 25, ReadyBytes: 5}, f.q.Stats())
	eq(t, 1, lim.Count())

	n, err := f.q.PurgeAll()
	must(t, err)
	eq(t, 4, n)
	eq(t, Stats{}, f.q.Stats())
	eq(t, 0, lim.Count(), "credit freed")
	eq(t, 0, f.st.count("/|q"), "store entries removed")

	settles := []struct {
		name string
		do   func() error
	}{
		{"Ack of the lease", func() error { return f.q.Ack(leased[0].Seq) }},
		{"AckLease", func() error { return f.q.AckLease(leased[0].Seq, 1) }},
		{"ChangeLease", func() error { return f.q.ChangeLease(leased[0].Seq, time.Time{}) }},
		{"Ack of the consumer's delivery", func() error { return f.q.Ack(r.got()[0].Seq) }},
		{"Nack", func() error { return f.q.Nack(r.got()[0].Seq, true) }},
	}
	for _, s := range settles {
		if err := s.do(); !errors.Is(err, ErrUnknownSeq) {
			t.Errorf("%s after PurgeAll: %v, want ErrUnknownSeq", s.name, err)
		}
	}
	// The queue works on: the groups are free, the timer finds nothing.
	f.clock.Advance(time.Hour)
	m := msg("after")
	m.GroupID = "leased"
	pub(t, f.q, m)
	eq(t, []string{"after"}, bodies(f.q.Lease(10, time.Minute)))

	f.q.Delete(false, false)
	if _, err := f.q.PurgeAll(); !errors.Is(err, ErrDeleted) {
		t.Fatalf("PurgeAll of a deleted queue: %v", err)
	}
}
