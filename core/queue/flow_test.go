package queue

import (
	"testing"
	"time"
)

// TestCongestion: a queue with a consumer that cannot keep up (its prefetch
// window is full) becomes congested past flowHigh ready messages, and the
// channel closes once acks bring it under flowLow; a queue without
// consumers is never congested.
func TestCongestion(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	for i := 0; i < flowHigh+10; i++ {
		pubBodies(t, f.q, "x")
	}
	if f.q.Congested() != nil {
		t.Fatal("a queue without consumers is congested")
	}
	r := &recorder{}
	lim := NewLimiter(flowHigh)
	sub, err := f.q.Consume(r, ConsumeOptions{Tag: "c", Limiters: []*Limiter{lim}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < flowHigh+10; i++ {
		pubBodies(t, f.q, "y")
	}
	wait := f.q.Congested()
	if wait == nil {
		t.Fatalf("not congested with %d ready and a full consumer", f.q.Stats().Ready)
	}
	for _, d := range r.got() {
		if err := f.q.Ack(d.Seq); err != nil {
			t.Fatal(err)
		}
		if f.q.Stats().Ready <= flowLow {
			break
		}
	}
	select {
	case <-wait:
	default:
		t.Fatalf("still congested at %d ready", f.q.Stats().Ready)
	}
	if f.q.Congested() != nil {
		t.Fatal("Congested still reports a channel after draining")
	}
	// Losing the consumer also ends congestion.
	for i := 0; i < flowHigh+10; i++ {
		pubBodies(t, f.q, "z")
	}
	wait = f.q.Congested()
	if wait == nil {
		t.Fatal("not congested again")
	}
	if err := f.q.Cancel(sub); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wait:
	default:
		t.Fatal("cancelling the only consumer left the queue congested")
	}
}

// TestCongestionReleasedWhenConsumersStall: consumers that stop taking
// messages (a full prefetch window nobody acks) end the congestion after
// flowStall, so publishers are not held back for nothing.
func TestCongestionReleasedWhenConsumersStall(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	r := &recorder{}
	if _, err := f.q.Consume(r, ConsumeOptions{Tag: "c", Limiters: []*Limiter{NewLimiter(10)}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < flowHigh+20; i++ {
		pubBodies(t, f.q, "x")
	}
	wait := f.q.Congested()
	if wait == nil {
		t.Fatal("not congested")
	}
	f.clock.Advance(2 * time.Duration(flowStall))
	pubBodies(t, f.q, "y") // any operation re-evaluates
	select {
	case <-wait:
	default:
		t.Fatal("stalled consumers kept the queue congested")
	}
	pubBodies(t, f.q, "z")
	if f.q.Congested() != nil {
		t.Fatal("congested again without any delivery")
	}
}
