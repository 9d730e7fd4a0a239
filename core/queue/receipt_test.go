package queue

import (
	"errors"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

// TestAckLease follows SQS receipt handles: a handle names (seq, receive
// count), and only the latest receive may delete or change the message.
func TestAckLease(t *testing.T) {
	tests := []struct {
		name      string
		fifo      bool
		setup     func(f *fixture, first Delivery) // after the first lease
		count     uint32                           // receive count the handle names
		want      error
		wantReady int // ready messages left
	}{
		{name: "current lease", count: 1},
		{name: "stale: received again", count: 1, want: ErrStaleDelivery,
			setup: func(f *fixture, _ Delivery) { f.clock.Advance(time.Minute); f.q.Lease(1, time.Minute) }},
		{name: "newest handle after a re-receive", count: 2,
			setup: func(f *fixture, _ Delivery) { f.clock.Advance(time.Minute); f.q.Lease(1, time.Minute) }},
		{name: "lease expired, not received again: deleted", count: 1,
			setup: func(f *fixture, _ Delivery) { f.clock.Advance(time.Minute) }},
		{name: "FIFO: lease expired is refused", fifo: true, count: 1, want: ErrStaleDelivery, wantReady: 1,
			setup: func(f *fixture, _ Delivery) { f.clock.Advance(time.Minute) }},
		{name: "stale after expiry and a re-receive that expired too", count: 1, want: ErrStaleDelivery, wantReady: 1,
			setup: func(f *fixture, _ Delivery) {
				f.clock.Advance(time.Minute)
				f.q.Lease(1, time.Minute)
				f.clock.Advance(time.Minute)
			}},
		{name: "already deleted", count: 1, want: ErrUnknownSeq,
			setup: func(f *fixture, d Delivery) { _ = f.q.Ack(d.Seq) }},
		{name: "delivered to a consumer since", count: 1, want: ErrStaleDelivery,
			setup: func(f *fixture, _ Delivery) {
				f.clock.Advance(time.Minute)
				_, _ = f.q.Consume(&recorder{}, ConsumeOptions{})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{Options: Options{FIFO: tt.fifo}}, nil)
			pubBodies(t, f.q, "m")
			first := f.q.Lease(1, time.Minute)[0]
			if tt.setup != nil {
				tt.setup(f, first)
			}
			before := f.q.Stats()
			err := f.q.AckLease(first.Seq, tt.count)
			if !errors.Is(err, tt.want) {
				t.Fatalf("AckLease: %v, want %v", err, tt.want)
			}
			st := f.q.Stats()
			eq(t, tt.wantReady, st.Ready, "ready")
			if tt.want != nil {
				eq(t, before, st, "a refused AckLease changes nothing")
			} else {
				eq(t, 0, st.Leased+st.Ready+st.Unacked, "deleted")
			}
		})
	}
}

func TestChangeLeaseIf(t *testing.T) {
	tests := []struct {
		name  string
		relet bool   // the lease expires and the message is received again
		count uint32 // receive count the handle names
		want  error
	}{
		{"current", false, 1, nil},
		{"any receive", true, 0, nil},
		{"stale", true, 1, ErrStaleDelivery},
		{"newest", true, 2, nil},
		{"not in flight", false, 9, ErrStaleDelivery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, nil)
			pubBodies(t, f.q, "m")
			d := f.q.Lease(1, time.Minute)[0]
			if tt.relet {
				f.clock.Advance(time.Minute)
				f.q.Lease(1, time.Minute)
			}
			deadline := f.clock.Now().Add(time.Hour)
			err := f.q.ChangeLeaseIf(d.Seq, tt.count, deadline)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ChangeLeaseIf: %v, want %v", err, tt.want)
			}
			f.clock.Advance(2 * time.Minute)
			if tt.want == nil {
				eq(t, 1, f.q.Stats().Leased, "extended")
			} else {
				eq(t, 1, f.q.Stats().Ready, "unchanged: the lease ran out")
			}
		})
	}
	// A lease that ran out is not in flight, whichever receive the handle names.
	f := newFixture(t, Config{}, nil)
	pubBodies(t, f.q, "m")
	d := f.q.Lease(1, time.Minute)[0]
	f.clock.Advance(time.Minute)
	eq(t, ErrUnknownSeq, f.q.ChangeLeaseIf(d.Seq, 1, f.clock.Now().Add(time.Hour)))
	eq(t, ErrUnknownSeq, f.q.ChangeLeaseIf(d.Seq+1, 1, f.clock.Now().Add(time.Hour)))
}

func TestFirstReceived(t *testing.T) {
	f := newFixture(t, Config{Durable: true}, nil)
	m := persistent(msg("p"))
	f.q.Publish(Publishing{Msg: m, Data: message.Marshal(nil, m)})
	f.clock.Advance(time.Second)
	first := f.q.Lease(1, time.Minute)[0]
	want := t0.Add(time.Second).UnixNano()
	eq(t, want, first.FirstReceived)
	se, _ := f.st.entry("/|q", first.Seq)
	eq(t, want, se.FirstReceived, "stored")
	f.clock.Advance(time.Minute)
	eq(t, want, f.q.Lease(1, time.Minute)[0].FirstReceived, "kept on a re-receive")

	// A queue recovered from the store keeps it.
	g := New(f.q.Config(), Deps{Store: f.st, Clock: f.clock})
	n, err := g.Recover()
	must(t, err)
	eq(t, 1, n)
	f.clock.Advance(time.Hour)
	ds := g.Lease(1, time.Minute)
	eq(t, 1, len(ds))
	eq(t, want, ds[0].FirstReceived, "recovered")
	eq(t, uint32(3), ds[0].DeliveryCount)
}

func TestDeduplicatedOriginal(t *testing.T) {
	f := newFixture(t, Config{Options: Options{FIFO: true, DedupWindow: 5 * time.Minute}}, nil)
	m := func(id uint64, msgID string) *message.Message {
		x := msg(msgID)
		x.ID, x.DedupID, x.GroupID = id, "d", "g"
		x.Props.MessageID = msgID
		return x
	}
	tests := []struct {
		name    string
		advance time.Duration
		m       *message.Message
		want    Result
		orig    Original
	}{
		{"first", 0, m(1, "one"), Enqueued, Original{ID: 1, MessageID: "one"}},
		{"duplicate reports the first", time.Minute, m(2, "two"), Duplicate, Original{ID: 1, MessageID: "one"}},
		{"window closed", 5 * time.Minute, m(3, "three"), Enqueued, Original{ID: 3, MessageID: "three"}},
	}
	for _, tt := range tests {
		f.clock.Advance(tt.advance)
		eq(t, tt.want, f.q.Publish(Publishing{Msg: tt.m}), tt.name)
		o, ok := f.q.Deduplicated("d")
		eq(t, true, ok, tt.name)
		eq(t, tt.orig, o, tt.name)
	}
	_, ok := f.q.Deduplicated("other")
	eq(t, false, ok)
}
