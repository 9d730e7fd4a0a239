package queue

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

// policyArgs parses args as a queue's effective arguments.
func policyArgs(t testing.TB, args message.Table) Args {
	t.Helper()
	a, err := ParseQueueArgs("/", "q", args)
	must(t, err)
	return a
}

func TestSetPolicyArgs(t *testing.T) {
	dlx := message.Field{Key: "x-dead-letter-exchange", Value: "dlx"}
	tests := []struct {
		name     string
		declared message.Table
		policy   message.Table // effective arguments after the policy change
		check    func(t *testing.T, f *fixture)
	}{
		{"lower max-length drops heads at once", nil,
			message.Table{dlx, {Key: "x-max-length", Value: int64(1)}},
			func(t *testing.T, f *fixture) {
				eq(t, []string{"a", "b"}, f.dl.bodies(), "dead-lettered to the new DLX, reason maxlen")
				r, _ := f.dl.msgs[0].Props.Headers.Get("x-first-death-reason")
				eq(t, any(reasonMaxlen), r)
				pubBodies(t, f.q, "d")
				eq(t, []string{"d"}, drain(f.q))
			}},
		{"max-length-bytes drops heads at once", nil,
			message.Table{{Key: "x-max-length-bytes", Value: int64(2)}},
			func(t *testing.T, f *fixture) { eq(t, []string{"b", "c"}, drain(f.q)) }},
		{"reject-publish keeps the excess, refuses new", nil,
			message.Table{{Key: "x-max-length", Value: int64(1)}, {Key: "x-overflow", Value: "reject-publish"}},
			func(t *testing.T, f *fixture) {
				eq(t, Rejected, f.q.Publish(Publishing{Msg: msg("d")}))
				eq(t, []string{"a", "b", "c"}, drain(f.q))
				eq(t, Enqueued, f.q.Publish(Publishing{Msg: msg("e")}))
			}},
		{"limit lifted", message.Table{{Key: "x-max-length", Value: int64(3)}}, nil,
			func(t *testing.T, f *fixture) {
				pubBodies(t, f.q, "d", "e")
				eq(t, []string{"a", "b", "c", "d", "e"}, drain(f.q))
			}},
		{"message TTL applies to later publishes", nil,
			message.Table{dlx, {Key: "x-message-ttl", Value: int64(1000)}},
			func(t *testing.T, f *fixture) {
				pubBodies(t, f.q, "d")
				f.clock.Advance(2 * time.Second)
				eq(t, []string{"a", "b", "c"}, drain(f.q), "queued messages keep their expiry")
				eq(t, []string{"d"}, f.dl.bodies(), "expired once at the head")
			}},
		{"message TTL removed", message.Table{{Key: "x-message-ttl", Value: int64(1000)}}, nil,
			func(t *testing.T, f *fixture) {
				pubBodies(t, f.q, "d")
				f.clock.Advance(2 * time.Second)
				eq(t, []string{"d"}, drain(f.q))
			}},
		{"dead-letter target changes", message.Table{dlx},
			message.Table{{Key: "x-dead-letter-exchange", Value: "other"}, {Key: "x-dead-letter-routing-key", Value: "rk2"}},
			func(t *testing.T, f *fixture) {
				d, _ := f.q.Get(false)
				must(t, f.q.Nack(d.Seq, false))
				eq(t, []string{"other"}, f.dl.xs)
				eq(t, []string{"rk2"}, f.dl.rks)
			}},
		{"delivery limit", nil,
			message.Table{dlx, {Key: "x-delivery-limit", Value: int64(0)}},
			func(t *testing.T, f *fixture) {
				d, _ := f.q.Get(false)
				must(t, f.q.Nack(d.Seq, true))
				eq(t, []string{"a"}, f.dl.bodies())
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, tt.declared)
			pubBodies(t, f.q, "a", "b", "c")
			before := f.q.Config().Args
			must(t, f.q.SetPolicyArgs(policyArgs(t, tt.policy)))
			after := f.q.Config().Args
			eq(t, before.raw, after.raw, "declared arguments kept")
			tt.check(t, f)
		})
	}
}

func TestSetPolicyArgsExpires(t *testing.T) {
	tests := []struct {
		name     string
		declared message.Table
		policy   message.Table
		at       time.Duration // when the queue expires, from the change; 0 = never
	}{
		{"set", nil, message.Table{{Key: "x-expires", Value: int64(5000)}}, 5 * time.Second},
		{"shortened restarts from now", message.Table{{Key: "x-expires", Value: int64(60000)}},
			message.Table{{Key: "x-expires", Value: int64(5000)}}, 5 * time.Second},
		{"removed", message.Table{{Key: "x-expires", Value: int64(5000)}}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewManualClock(t0)
			var expired atomic.Bool
			q := New(Config{Name: "q", Args: policyArgs(t, tt.declared)},
				Deps{Clock: clock, OnExpire: func(*Queue) { expired.Store(true) }})
			clock.Advance(2 * time.Second)
			must(t, q.SetPolicyArgs(policyArgs(t, tt.policy)))
			if tt.at == 0 {
				clock.Advance(time.Hour)
				eq(t, false, expired.Load())
				return
			}
			clock.Advance(tt.at - time.Millisecond)
			eq(t, false, expired.Load(), "not before")
			clock.Advance(2 * time.Millisecond)
			eq(t, true, expired.Load(), "at the deadline")
		})
	}
}

func TestSetPolicyArgsKeepsOthers(t *testing.T) {
	declared := message.Table{{Key: "x-max-priority", Value: int64(5)}, {Key: "x-single-active-consumer", Value: true}}
	f := newFixture(t, Config{}, declared)
	must(t, f.q.SetPolicyArgs(policyArgs(t, message.Table{{Key: "x-max-length", Value: int64(7)}})))
	a := f.q.Config().Args
	eq(t, uint8(5), a.MaxPriority)
	eq(t, true, a.SingleActiveConsumer)
	eq(t, int64(7), a.MaxLength)
	eq(t, nil, CheckEquivalent("/", "q", a, policyArgs(t, declared)), "redeclare compares the declared arguments")

	_, err := f.q.Delete(false, false)
	must(t, err)
	if err := f.q.SetPolicyArgs(a); !errors.Is(err, ErrDeleted) {
		t.Fatalf("deleted queue: %v", err)
	}
}
