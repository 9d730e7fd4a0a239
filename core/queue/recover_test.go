package queue

import (
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

func TestRecover(t *testing.T) {
	f := newFixture(t, Config{Durable: true}, nil)
	publish := func(body string, mut func(*message.Message)) {
		m := persistent(msg(body))
		if mut != nil {
			mut(m)
		}
		m.Arrived = f.clock.Now().UnixNano()
		if r := f.q.Publish(Publishing{Msg: m, Data: message.Marshal(nil, m)}); r != Enqueued {
			t.Fatal(r)
		}
	}
	publish("ready", nil)
	publish("unacked", nil)
	publish("leased", nil)
	publish("delayed", func(m *message.Message) { m.DelayUntil = t0.Add(10 * time.Minute).UnixNano() })
	publish("short", func(m *message.Message) { withExpiration(m, 1000) })
	publish("transient-never-stored", func(m *message.Message) { m.Props.DeliveryMode = 1 })

	d1, _ := f.q.Get(false)
	d2, _ := f.q.Get(false)
	eq(t, "unacked", string(d2.Msg.Body))
	ls := f.q.Lease(1, 5*time.Minute)
	eq(t, "leased", string(ls[0].Msg.Body))
	must(t, f.q.Nack(d1.Seq, true)) // "ready" back, once delivered
	eq(t, 5, f.st.count("/|q"))

	// Restart two seconds later: "short" has expired.
	clock := NewManualClock(t0.Add(2 * time.Second))
	q := New(f.q.Config(), Deps{Store: f.st, Clock: clock})
	n, err := q.Recover()
	must(t, err)
	eq(t, 4, n)
	eq(t, 4, f.st.count("/|q"))
	eq(t, Stats{Ready: 2, Leased: 1, Delayed: 1, Bytes: 5 + 7 + 6 + 7, ReadyBytes: 12}, q.Stats())

	a, _ := q.Get(false)
	b, _ := q.Get(false)
	eq(t, []string{"ready", "unacked"}, []string{string(a.Msg.Body), string(b.Msg.Body)})
	eq(t, []bool{true, true}, []bool{a.Redelivered, b.Redelivered})
	eq(t, uint32(2), a.DeliveryCount)

	// The lease survived the restart with its deadline.
	clock.Advance(5*time.Minute - 2*time.Second - time.Nanosecond)
	eq(t, 1, q.Stats().Leased)
	clock.Advance(time.Nanosecond)
	l, _ := q.Get(true)
	eq(t, "leased", string(l.Msg.Body))
	eq(t, uint32(2), l.DeliveryCount)

	// New publishes continue the sequence.
	m := persistent(msg("new"))
	m.Arrived = clock.Now().UnixNano()
	q.Publish(Publishing{Msg: m, Data: message.Marshal(nil, m)})
	must(t, q.Ack(a.Seq))
	must(t, q.Ack(b.Seq))
	nd, _ := q.Get(false)
	eq(t, true, nd.Seq > ls[0].Seq)

	_, err = New(Config{Name: "x"}, Deps{}).Recover()
	eq(t, ErrNoStore, err)
}
