package queue

import (
	"context"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

func TestLeaseExpiryAndChange(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	pubBodies(t, f.q, "a", "b", "c")
	ds := f.q.Lease(2, 30*time.Second)
	eq(t, []string{"a", "b"}, bodies(ds))
	eq(t, uint32(1), ds[0].DeliveryCount)
	eq(t, Stats{Ready: 1, Leased: 2, Bytes: 3, ReadyBytes: 1}, f.q.Stats())

	must(t, f.q.ChangeLease(ds[1].Seq, t0.Add(60*time.Second))) // extend b
	f.clock.Advance(30 * time.Second)
	eq(t, 2, f.q.Stats().Ready) // a is back, b still leased

	again := f.q.Lease(10, 10*time.Second)
	eq(t, []string{"a", "c"}, bodies(again)) // original position
	eq(t, uint32(2), again[0].DeliveryCount)
	eq(t, true, again[0].Redelivered)

	must(t, f.q.ChangeLease(ds[1].Seq, time.Time{})) // visible now
	eq(t, 1, f.q.Stats().Ready)
	must(t, f.q.Ack(again[0].Seq))
	must(t, f.q.Ack(again[1].Seq))
	eq(t, ErrUnknownSeq, f.q.ChangeLease(again[0].Seq, time.Time{}))
	eq(t, []string{"b"}, drain(f.q))
	eq(t, Stats{}, f.q.Stats())
}

func TestMaxReceiveCount(t *testing.T) {
	tests := []struct {
		name   string
		target string
		x, rk  string
	}{
		{"redrive target", "dlq", "", "dlq"},
		{"dead-letter exchange", "", "dlx", "rk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{Options: Options{MaxReceiveCount: 2, RedriveTarget: tt.target}},
				message.Table{{Key: "x-dead-letter-exchange", Value: "dlx"}})
			pubBodies(t, f.q, "m")
			for i := 1; i <= 2; i++ {
				ds := f.q.Lease(1, time.Second)
				eq(t, 1, len(ds))
				eq(t, uint32(i), ds[0].DeliveryCount)
				f.clock.Advance(time.Second)
			}
			eq(t, 0, len(f.q.Lease(1, time.Second)))
			eq(t, []string{"m"}, f.dl.bodies())
			eq(t, tt.x, f.dl.xs[0])
			eq(t, tt.rk, f.dl.rks[0])
			eq(t, Stats{}, f.q.Stats())
		})
	}
}

func TestDelayed(t *testing.T) {
	f := newFixture(t, Config{Options: Options{DefaultDelay: 10 * time.Second}}, nil)
	pubBodies(t, f.q, "default")
	m := msg("explicit")
	m.DelayUntil = t0.Add(5 * time.Second).UnixNano()
	pub(t, f.q, m)
	eq(t, Stats{Delayed: 2, Bytes: 15}, f.q.Stats())
	eq(t, 0, len(f.q.Lease(10, time.Minute)))
	f.clock.Advance(5 * time.Second)
	eq(t, []string{"explicit"}, drain(f.q))
	r := &recorder{}
	_, _ = f.q.Consume(r, ConsumeOptions{AutoAck: true})
	f.clock.Advance(5 * time.Second)
	eq(t, []string{"default"}, r.bodies())
}

func TestFIFOGroups(t *testing.T) {
	f := newFixture(t, Config{Options: Options{FIFO: true}}, nil)
	for _, s := range []struct{ body, g string }{{"a1", "A"}, {"a2", "A"}, {"b1", "B"}, {"a3", "A"}, {"b2", "B"}, {"c1", ""}} {
		m := msg(s.body)
		m.GroupID = s.g
		pub(t, f.q, m)
	}
	// One receive may take several messages of a group, in order.
	first := f.q.Lease(2, 30*time.Second)
	eq(t, []string{"a1", "a2"}, bodies(first))
	// Group A is blocked while a1/a2 are in flight.
	second := f.q.Lease(10, 30*time.Second)
	eq(t, []string{"b1", "b2", "c1"}, bodies(second))
	eq(t, 0, len(f.q.Lease(10, 30*time.Second)))
	must(t, f.q.Ack(first[0].Seq))
	eq(t, 0, len(f.q.Lease(10, 30*time.Second)), "a2 still in flight")
	// a2's lease expires: it comes back before a3.
	f.clock.Advance(30 * time.Second)
	third := f.q.Lease(10, 30*time.Second)
	eq(t, []string{"a2", "b1", "a3", "b2", "c1"}, bodies(third)) // seq order across groups

	// AMQP consumers honour groups too: one unacked per group.
	g := newFixture(t, Config{Options: Options{FIFO: true}}, nil)
	for _, b := range []string{"x1", "x2"} {
		m := msg(b)
		m.GroupID = "X"
		pub(t, g.q, m)
	}
	r := &recorder{}
	_, _ = g.q.Consume(r, ConsumeOptions{})
	eq(t, []string{"x1"}, r.bodies())
	must(t, g.q.Ack(r.got()[0].Seq))
	eq(t, []string{"x1", "x2"}, r.bodies())
}

func TestLeaseWait(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	out := make(chan []Delivery, 1)
	go func() {
		ds, err := f.q.LeaseWait(context.Background(), 5, time.Minute)
		if err != nil {
			t.Error(err)
		}
		out <- ds
	}()
	waitFor(t, func() bool { f.q.mu.Lock(); defer f.q.mu.Unlock(); return len(f.q.waiters) == 1 })
	pubBodies(t, f.q, "x")
	eq(t, []string{"x"}, bodies(<-out))
	eq(t, 1, f.q.Stats().Leased)
}

func TestDurableLeaseAndDeliveryCount(t *testing.T) {
	f := newFixture(t, Config{Durable: true}, nil)
	m := persistent(msg("p"))
	f.q.Publish(Publishing{Msg: m, Data: message.Marshal(nil, m)})
	ds := f.q.Lease(1, time.Minute)
	se, ok := f.st.entry("/|q", ds[0].Seq)
	eq(t, true, ok)
	eq(t, uint32(1), se.DeliveryCount)
	eq(t, t0.Add(time.Minute).UnixNano(), se.NotBefore)
	must(t, f.q.ChangeLease(ds[0].Seq, t0.Add(time.Hour)))
	se, _ = f.st.entry("/|q", ds[0].Seq)
	eq(t, t0.Add(time.Hour).UnixNano(), se.NotBefore)
}
