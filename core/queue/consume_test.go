package queue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

func TestRoundRobinAndConsumerPriority(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	a, b := &recorder{}, &recorder{}
	_, _ = f.q.Consume(a, ConsumeOptions{AutoAck: true})
	_, _ = f.q.Consume(b, ConsumeOptions{AutoAck: true})
	pubBodies(t, f.q, "1", "2", "3", "4")
	eq(t, []string{"1", "3"}, a.bodies())
	eq(t, []string{"2", "4"}, b.bodies())

	// A higher-priority consumer takes everything while it has credit.
	g := newFixture(t, Config{}, nil)
	lo, hi := &recorder{}, &recorder{}
	lim := NewLimiter(2)
	_, _ = g.q.Consume(lo, ConsumeOptions{})
	_, _ = g.q.Consume(hi, ConsumeOptions{Priority: 10, Limiters: []*Limiter{lim}})
	pubBodies(t, g.q, "1", "2", "3", "4")
	eq(t, []string{"1", "2"}, hi.bodies())
	eq(t, []string{"3", "4"}, lo.bodies())
	must(t, g.q.Ack(hi.got()[0].Seq))
	pubBodies(t, g.q, "5")
	eq(t, []string{"1", "2", "5"}, hi.bodies())
}

func TestExclusiveConsumer(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	s, err := f.q.Consume(&recorder{}, ConsumeOptions{Exclusive: true})
	must(t, err)
	_, err = f.q.Consume(&recorder{}, ConsumeOptions{})
	eq(t, ErrExclusiveConsumer, err)
	must(t, f.q.Cancel(s))
	_, err = f.q.Consume(&recorder{}, ConsumeOptions{})
	must(t, err)
	_, err = f.q.Consume(&recorder{}, ConsumeOptions{Exclusive: true})
	eq(t, ErrExclusiveConsumer, err)
}

func TestSingleActiveConsumer(t *testing.T) {
	f := newFixture(t, Config{}, message.Table{{Key: "x-single-active-consumer", Value: true}})
	a, b, c := &recorder{}, &recorder{}, &recorder{}
	sa, _ := f.q.Consume(a, ConsumeOptions{AutoAck: true})
	sb, _ := f.q.Consume(b, ConsumeOptions{AutoAck: true, Priority: 5})
	_, _ = f.q.Consume(c, ConsumeOptions{AutoAck: true})
	eq(t, true, sa.Active())
	eq(t, false, sb.Active())
	pubBodies(t, f.q, "1", "2")
	eq(t, []string{"1", "2"}, a.bodies())
	must(t, f.q.Cancel(sa))
	eq(t, true, sb.Active())
	eq(t, []bool{true}, b.active)
	pubBodies(t, f.q, "3")
	eq(t, []string{"3"}, b.bodies())
	eq(t, 0, len(c.got()))
}

func TestPrefetchPerConsumerAndPerChannel(t *testing.T) {
	f1 := newFixture(t, Config{Name: "q1"}, nil)
	f2 := newFixture(t, Config{Name: "q2"}, nil)
	channel := NewLimiter(3) // basic.qos global: shared by both consumers
	c1, c2 := &recorder{}, &recorder{}
	_, _ = f1.q.Consume(c1, ConsumeOptions{Limiters: []*Limiter{NewLimiter(2), channel}})
	_, _ = f2.q.Consume(c2, ConsumeOptions{Limiters: []*Limiter{NewLimiter(5), channel}})
	pubBodies(t, f1.q, "a1", "a2", "a3")
	pubBodies(t, f2.q, "b1", "b2", "b3")
	eq(t, []string{"a1", "a2"}, c1.bodies()) // per-consumer 2
	eq(t, []string{"b1"}, c2.bodies())       // channel 3 total
	eq(t, 3, channel.Count())

	// An ack on q1 frees credit that q1 itself uses first (a3)...
	must(t, f1.q.Ack(c1.got()[0].Seq))
	eq(t, []string{"a1", "a2", "a3"}, c1.bodies())
	eq(t, []string{"b1"}, c2.bodies())
	// ...then q1 is empty, and q2, blocked on the shared channel limiter,
	// resumes without anyone calling into it.
	must(t, f1.q.Ack(c1.got()[1].Seq))
	eq(t, []string{"b1", "b2"}, c2.bodies())

	// Raising the window wakes both.
	channel.SetMax(10)
	eq(t, []string{"a1", "a2", "a3"}, c1.bodies())
	eq(t, []string{"b1", "b2", "b3"}, c2.bodies())

	// Nack and requeue also free credit.
	per := NewLimiter(1)
	g := newFixture(t, Config{}, nil)
	c := &recorder{}
	_, _ = g.q.Consume(c, ConsumeOptions{Limiters: []*Limiter{per}})
	pubBodies(t, g.q, "x", "y")
	must(t, g.q.Nack(c.got()[0].Seq, false))
	eq(t, []string{"x", "y"}, c.bodies())
	must(t, g.q.Requeue([]uint64{c.got()[1].Seq}))
	eq(t, []string{"x", "y", "y"}, c.bodies())
	eq(t, true, c.got()[2].Redelivered)
}

func TestNackRequeueOriginalPosition(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	pubBodies(t, f.q, "a", "b", "c", "d")
	da, _ := f.q.Get(false)
	db, _ := f.q.Get(false)
	dc, _ := f.q.Get(false)
	must(t, f.q.Nack(dc.Seq, true))
	must(t, f.q.Nack(da.Seq, true))
	eq(t, ErrUnknownSeq, f.q.Nack(da.Seq, true))
	eq(t, ErrUnknownSeq, f.q.Ack(12345))
	must(t, f.q.Requeue([]uint64{db.Seq}))
	var got []string
	var redelivered []bool
	for {
		d, ok := f.q.Get(true)
		if !ok {
			break
		}
		got = append(got, string(d.Msg.Body))
		redelivered = append(redelivered, d.Redelivered)
	}
	eq(t, []string{"a", "b", "c", "d"}, got)
	eq(t, []bool{true, true, true, false}, redelivered)
}

func TestDeliveryLimit(t *testing.T) {
	tests := []struct {
		name      string
		args      message.Table
		delivered int
	}{
		{"limit 2", message.Table{{Key: "x-delivery-limit", Value: int32(2)}}, 3},
		{"limit 0", message.Table{{Key: "x-delivery-limit", Value: int32(0)}}, 1},
		{"quorum default 20", message.Table{{Key: "x-queue-type", Value: "quorum"}}, 21},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(message.Table{{Key: "x-dead-letter-exchange", Value: "dlx"}}, tt.args...)
			f := newFixture(t, Config{Durable: true}, args)
			pubBodies(t, f.q, "m")
			n := 0
			for {
				d, ok := f.q.Get(false)
				if !ok {
					break
				}
				n++
				eq(t, uint32(n), d.DeliveryCount)
				must(t, f.q.Nack(d.Seq, true))
			}
			eq(t, tt.delivered, n)
			eq(t, 1, len(f.dl.msgs))
			r, _ := f.dl.msgs[0].Props.Headers.Get("x-first-death-reason")
			eq(t, any(reasonDeliveryLimit), r)
		})
	}
}

func TestGetWaitWokenByPublish(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	type res struct {
		d   Delivery
		err error
	}
	out := make(chan res, 1)
	go func() {
		d, err := f.q.GetWait(context.Background(), true)
		out <- res{d, err}
	}()
	waitFor(t, func() bool { f.q.mu.Lock(); defer f.q.mu.Unlock(); return len(f.q.waiters) == 1 })
	pubBodies(t, f.q, "hello")
	r := <-out
	must(t, r.err)
	eq(t, "hello", string(r.d.Msg.Body))

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := f.q.GetWait(ctx, true)
		out <- res{err: err}
	}()
	waitFor(t, func() bool { f.q.mu.Lock(); defer f.q.mu.Unlock(); return len(f.q.waiters) == 1 })
	cancel()
	eq(t, true, errors.Is((<-out).err, context.Canceled))

	go func() {
		_, err := f.q.GetWait(context.Background(), true)
		out <- res{err: err}
	}()
	waitFor(t, func() bool { f.q.mu.Lock(); defer f.q.mu.Unlock(); return len(f.q.waiters) == 1 })
	_, _ = f.q.Delete(false, false)
	eq(t, ErrDeleted, (<-out).err)
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGetCountsAsUnacked(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	pubBodies(t, f.q, "a")
	d, ok := f.q.Get(false)
	eq(t, true, ok)
	eq(t, uint32(1), d.DeliveryCount)
	eq(t, false, d.Redelivered)
	eq(t, 1, f.q.Stats().Unacked)
	must(t, f.q.Ack(d.Seq))
	eq(t, Stats{}, f.q.Stats())
}

// TestAckDispatchesItselfAndWakesOthers: an ack takes its own queue off
// the shared limiter's waiters (its own dispatch follows) and still
// wakes the other queue blocked there once its own queue runs dry.
func TestAckDispatchesItselfAndWakesOthers(t *testing.T) {
	f1 := newFixture(t, Config{Name: "q1"}, nil)
	f2 := newFixture(t, Config{Name: "q2"}, nil)
	channel := NewLimiter(1)
	c1, c2 := &recorder{}, &recorder{}
	_, _ = f1.q.Consume(c1, ConsumeOptions{Limiters: []*Limiter{channel}})
	_, _ = f2.q.Consume(c2, ConsumeOptions{Limiters: []*Limiter{channel}})
	pubBodies(t, f1.q, "a1", "a2")
	pubBodies(t, f2.q, "b1", "b2")
	eq(t, []string{"a1"}, c1.bodies())
	eq(t, 0, len(c2.got()))

	must(t, f1.q.Ack(c1.got()[0].Seq)) // q1 takes the credit back first
	eq(t, []string{"a1", "a2"}, c1.bodies())
	eq(t, 0, len(c2.got()))
	must(t, f1.q.Ack(c1.got()[1].Seq)) // q1 is dry: q2 resumes
	eq(t, []string{"b1"}, c2.bodies())
	must(t, f2.q.Nack(c2.got()[0].Seq, false)) // a nack frees credit too
	eq(t, []string{"b1", "b2"}, c2.bodies())
	must(t, f2.q.Ack(c2.got()[1].Seq))
	eq(t, 0, channel.Count())
	channel.mu.Lock()
	defer channel.mu.Unlock()
	eq(t, 0, len(channel.waiters))
}

// TestAutoAckFlowGate: an auto-ack consumer whose flow gate is held is
// skipped (the other consumer takes the messages, and they stay ready
// when it is alone), and a Wake after opening delivers the rest in order.
func TestAutoAckFlowGate(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	gate := NewLimiter(0)
	a, b := &recorder{}, &recorder{}
	_, _ = f.q.Consume(a, ConsumeOptions{AutoAck: true, Flow: gate})
	sb, _ := f.q.Consume(b, ConsumeOptions{AutoAck: true})
	pubBodies(t, f.q, "1", "2")
	eq(t, []string{"1"}, a.bodies())
	eq(t, []string{"2"}, b.bodies())
	gate.Hold(true)
	pubBodies(t, f.q, "3", "4")
	eq(t, []string{"1"}, a.bodies())
	eq(t, []string{"2", "3", "4"}, b.bodies())
	must(t, f.q.Cancel(sb))
	pubBodies(t, f.q, "5", "6")
	eq(t, 2, f.q.Stats().Ready)
	gate.Wake() // still held: nothing moves
	eq(t, []string{"1"}, a.bodies())
	gate.Hold(false)
	gate.Wake()
	eq(t, []string{"1", "5", "6"}, a.bodies())
	eq(t, 0, f.q.Stats().Ready)
}

// TestAutoAckFlowGateForgetsDeletedQueue: a queue deleted while it waits
// on a held flow gate leaves the gate's waiters (it was kept until the
// gate opened).
func TestAutoAckFlowGateForgetsDeletedQueue(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	gate := NewLimiter(0)
	gate.Hold(true)
	_, _ = f.q.Consume(&recorder{}, ConsumeOptions{AutoAck: true, Flow: gate})
	pubBodies(t, f.q, "1")
	gate.mu.Lock()
	eq(t, []*Queue{f.q}, gate.waiters)
	gate.mu.Unlock()
	_, err := f.q.Delete(false, false)
	must(t, err)
	gate.mu.Lock()
	eq(t, 0, len(gate.waiters))
	gate.mu.Unlock()
}
