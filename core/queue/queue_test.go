package queue

import (
	"errors"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

func TestPublishGetFIFO(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	pubBodies(t, f.q, "a", "b", "c")
	eq(t, Stats{Ready: 3, Bytes: 3, ReadyBytes: 3}, f.q.Stats())
	eq(t, []string{"a", "b", "c"}, drain(f.q))
	eq(t, Stats{}, f.q.Stats())
}

func TestPriorities(t *testing.T) {
	tests := []struct {
		name  string
		args  message.Table
		prios []uint8
		want  []string
	}{
		{"no priority queue keeps order", nil, []uint8{0, 9, 5}, []string{"0", "1", "2"}},
		{"higher first then fifo", message.Table{{Key: "x-max-priority", Value: int32(10)}},
			[]uint8{1, 5, 5, 0, 9}, []string{"4", "1", "2", "0", "3"}},
		{"above max is capped", message.Table{{Key: "x-max-priority", Value: int32(3)}},
			[]uint8{200, 3, 0}, []string{"0", "1", "2"}},
		{"quorum two levels", message.Table{{Key: "x-queue-type", Value: "quorum"}},
			[]uint8{1, 4, 5, 9, 0}, []string{"2", "3", "0", "1", "4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{Durable: true}, tt.args)
			for i, p := range tt.prios {
				pub(t, f.q, withPrio(msg(string(rune('0'+i))), p))
			}
			eq(t, tt.want, drain(f.q))
		})
	}
}

func TestOverflow(t *testing.T) {
	dlx := message.Field{Key: "x-dead-letter-exchange", Value: "dlx"}
	tests := []struct {
		name    string
		args    message.Table
		results []Result
		ready   []string
		dead    []string
	}{
		{"drop-head max-length", message.Table{dlx, {Key: "x-max-length", Value: int32(2)}},
			[]Result{Enqueued, Enqueued, Enqueued, Enqueued}, []string{"c", "d"}, []string{"a", "b"}},
		{"drop-head max-length 0", message.Table{dlx, {Key: "x-max-length", Value: int32(0)}},
			[]Result{Enqueued, Enqueued, Enqueued, Enqueued}, []string{}, []string{"a", "b", "c", "d"}},
		{"drop-head bytes", message.Table{dlx, {Key: "x-max-length-bytes", Value: int32(3)}},
			[]Result{Enqueued, Enqueued, Enqueued, Enqueued}, []string{"b", "c", "d"}, []string{"a"}},
		{"reject-publish", message.Table{dlx, {Key: "x-max-length", Value: int32(2)}, {Key: "x-overflow", Value: "reject-publish"}},
			[]Result{Enqueued, Enqueued, Rejected, Rejected}, []string{"a", "b"}, []string{}},
		{"reject-publish-dlx", message.Table{dlx, {Key: "x-max-length", Value: int32(2)}, {Key: "x-overflow", Value: "reject-publish-dlx"}},
			[]Result{Enqueued, Enqueued, Rejected, Rejected}, []string{"a", "b"}, []string{"c", "d"}},
		{"reject-publish bytes", message.Table{{Key: "x-max-length-bytes", Value: int32(2)}, {Key: "x-overflow", Value: "reject-publish"}},
			[]Result{Enqueued, Enqueued, Rejected, Rejected}, []string{"a", "b"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, tt.args)
			var rs []Result
			for _, b := range []string{"a", "b", "c", "d"} {
				rs = append(rs, f.q.Publish(Publishing{Msg: msg(b)}))
			}
			eq(t, tt.results, rs)
			eq(t, tt.dead, f.dl.bodies())
			eq(t, tt.ready, drain(f.q))
			for _, m := range f.dl.msgs {
				r, _ := m.Props.Headers.Get("x-first-death-reason")
				eq(t, any(reasonMaxlen), r)
			}
		})
	}
}

func TestOverflowNoConsumerCountsReadyOnly(t *testing.T) {
	f := newFixture(t, Config{}, message.Table{{Key: "x-max-length", Value: int32(1)}, {Key: "x-overflow", Value: "reject-publish"}})
	pubBodies(t, f.q, "a")
	d, _ := f.q.Get(false) // unacked messages do not count
	pubBodies(t, f.q, "b")
	eq(t, Rejected, f.q.Publish(Publishing{Msg: msg("c")}))
	must(t, f.q.Ack(d.Seq))
}

func TestMessageTTL(t *testing.T) {
	tests := []struct {
		name    string
		args    message.Table
		expMs   []int // per-message expiration, -1 = none
		advance time.Duration
		ready   []string
		dead    []string
	}{
		{"queue ttl expires all", message.Table{{Key: "x-message-ttl", Value: int32(1000)}}, []int{-1, -1}, 1001 * time.Millisecond, []string{}, []string{"0", "1"}},
		{"queue ttl not yet", message.Table{{Key: "x-message-ttl", Value: int32(1000)}}, []int{-1, -1}, 1000 * time.Millisecond, []string{"0", "1"}, []string{}},
		{"per-message min of both", message.Table{{Key: "x-message-ttl", Value: int32(1000)}}, []int{100, 5000}, 200 * time.Millisecond, []string{"1"}, []string{"0"}},
		{"expire only at head", nil, []int{5000, 100}, 200 * time.Millisecond, []string{"0"}, []string{}}, // 1 expires when it reaches the head
		{"per-message only", nil, []int{100, 100}, 101 * time.Millisecond, []string{}, []string{"0", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(message.Table{{Key: "x-dead-letter-exchange", Value: "dlx"}}, tt.args...)
			f := newFixture(t, Config{}, args)
			for i, e := range tt.expMs {
				m := msg(string(rune('0' + i)))
				if e >= 0 {
					withExpiration(m, e)
				}
				pub(t, f.q, m)
			}
			f.clock.Advance(tt.advance) // idle queue: the timer expires, no Get needed
			eq(t, tt.dead, f.dl.bodies(), "dead")
			eq(t, tt.ready, drain(f.q), "ready")
		})
	}
}

func TestTTLZeroDeliversToWaitingConsumer(t *testing.T) {
	f := newFixture(t, Config{}, message.Table{{Key: "x-message-ttl", Value: int32(0)}})
	pubBodies(t, f.q, "lost")
	f.clock.Advance(time.Millisecond)
	eq(t, 0, f.q.Stats().Ready)
	r := &recorder{}
	_, err := f.q.Consume(r, ConsumeOptions{AutoAck: true})
	must(t, err)
	pubBodies(t, f.q, "kept")
	eq(t, []string{"kept"}, r.bodies())
}

func TestDeadLetterHeaders(t *testing.T) {
	f := newFixture(t, Config{}, message.Table{{Key: "x-dead-letter-exchange", Value: "dlx"},
		{Key: "x-dead-letter-routing-key", Value: "dead"}})
	m := withExpiration(msg("x"), 60000)
	m.Props.Headers = message.Table{{Key: "CC", Value: []any{"cc1"}}, {Key: "app", Value: "v"}}
	m.Props.Flags |= message.FlagHeaders
	pub(t, f.q, m)
	d, _ := f.q.Get(false)
	must(t, f.q.Nack(d.Seq, false))

	eq(t, 1, len(f.dl.msgs))
	dm := f.dl.msgs[0]
	eq(t, "dlx", f.dl.xs[0])
	eq(t, "dead", f.dl.rks[0])
	eq(t, message.PropFlag(0), dm.Props.Flags&message.FlagExpiration)
	eq(t, "", dm.Props.Expiration)
	eq(t, "60000", m.Props.Expiration, "original untouched")
	_, had := m.Props.Headers.Get("x-death")
	eq(t, false, had, "original headers untouched")
	xd, _ := dm.Props.Headers.Get("x-death")
	deaths := xd.([]any)
	eq(t, 1, len(deaths))
	want := message.Table{
		{Key: "count", Value: int64(1)},
		{Key: "reason", Value: "rejected"},
		{Key: "queue", Value: "q"},
		{Key: "time", Value: t0},
		{Key: "exchange", Value: "ex"},
		{Key: "routing-keys", Value: []any{"rk", "cc1"}},
		{Key: "original-expiration", Value: "60000"},
	}
	eq(t, want, deaths[0].(message.Table))
	for k, v := range map[string]string{"x-first-death-reason": "rejected", "x-first-death-queue": "q",
		"x-first-death-exchange": "ex", "x-last-death-reason": "rejected", "x-last-death-queue": "q"} {
		got, _ := dm.Props.Headers.Get(k)
		eq(t, any(v), got, k)
	}
	app, _ := dm.Props.Headers.Get("app")
	eq(t, any("v"), app)
}

func TestDeadLetterCountAndOrder(t *testing.T) {
	m := msg("x")
	at := t0
	m1 := DeadLettered(m, "q1", "rejected", at)
	m2 := DeadLettered(m1, "q2", "expired", at.Add(time.Second))
	m3 := DeadLettered(m2, "q1", "rejected", at.Add(2*time.Second))
	xd, _ := m3.Props.Headers.Get("x-death")
	deaths := xd.([]any)
	eq(t, 2, len(deaths))
	first := deaths[0].(message.Table)
	q, _ := first.Get("queue")
	c, _ := first.Get("count")
	tm, _ := first.Get("time")
	eq(t, any("q1"), q)
	eq(t, any(int64(2)), c)
	eq(t, any(at), tm, "time of the first such death is kept")
	second := deaths[1].(message.Table)
	q2, _ := second.Get("queue")
	eq(t, any("q2"), q2)
	fr, _ := m3.Props.Headers.Get("x-first-death-queue")
	eq(t, any("q1"), fr)
	lr, _ := m3.Props.Headers.Get("x-last-death-reason")
	eq(t, any("rejected"), lr)
	lq, _ := m2.Props.Headers.Get("x-last-death-queue")
	eq(t, any("q2"), lq)
	// m1's x-death must not have changed when m3 incremented a copy.
	xd1, _ := m1.Props.Headers.Get("x-death")
	c1, _ := xd1.([]any)[0].(message.Table).Get("count")
	eq(t, any(int64(1)), c1)
}

func TestDeadLetterCycleDropped(t *testing.T) {
	f := newFixture(t, Config{}, message.Table{{Key: "x-dead-letter-exchange", Value: "dlx"},
		{Key: "x-message-ttl", Value: int32(10)}})
	looped := DeadLettered(msg("x"), "q", reasonExpired, t0)
	pub(t, f.q, looped)
	f.clock.Advance(time.Second)
	eq(t, 0, len(f.dl.msgs))
	eq(t, 0, f.q.Stats().Ready)
}

func TestNoDLXDrops(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	pubBodies(t, f.q, "a")
	d, _ := f.q.Get(false)
	must(t, f.q.Nack(d.Seq, false))
	eq(t, 0, len(f.dl.msgs))
	eq(t, Stats{}, f.q.Stats())
}

func TestXExpires(t *testing.T) {
	clock := NewManualClock(t0)
	expired := make(chan *Queue, 1)
	a, _ := ParseArgs(message.Table{{Key: "x-expires", Value: int32(1000)}})
	q := New(Config{Name: "q", Args: a}, Deps{Clock: clock, OnExpire: func(q *Queue) { expired <- q }})
	clock.Advance(600 * time.Millisecond)
	q.Touch() // redeclare restarts the countdown
	clock.Advance(600 * time.Millisecond)
	eq(t, 0, len(expired))
	s, err := q.Consume(&recorder{}, ConsumeOptions{})
	must(t, err)
	clock.Advance(5 * time.Second)
	eq(t, 0, len(expired), "a queue with consumers does not expire")
	must(t, q.Cancel(s))
	clock.Advance(999 * time.Millisecond)
	eq(t, 0, len(expired))
	clock.Advance(time.Millisecond)
	eq(t, 1, len(expired))
	eq(t, q, <-expired)
}

func TestAutoDelete(t *testing.T) {
	n := 0
	q := New(Config{Name: "q", AutoDelete: true, Args: mustArgs(t, nil)}, Deps{OnAutoDelete: func(*Queue) { n++ }})
	s1, _ := q.Consume(&recorder{}, ConsumeOptions{})
	s2, _ := q.Consume(&recorder{}, ConsumeOptions{})
	must(t, q.Cancel(s1))
	eq(t, 0, n)
	must(t, q.Cancel(s2))
	eq(t, 1, n)
	eq(t, ErrUnknownConsumer, q.Cancel(s2))
}

func mustArgs(t testing.TB, args message.Table) Args {
	a, err := ParseArgs(args)
	must(t, err)
	return a
}

func TestPurgeAndDelete(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	pubBodies(t, f.q, "a", "b", "c")
	d, _ := f.q.Get(false)
	n, err := f.q.Purge()
	must(t, err)
	eq(t, 2, n)
	eq(t, 1, f.q.Stats().Unacked)

	r := &recorder{}
	_, err = f.q.Consume(r, ConsumeOptions{})
	must(t, err)
	pubBodies(t, f.q, "d")
	_, err = f.q.Delete(true, false)
	eq(t, ErrInUse, err)
	n, err = f.q.Delete(false, false)
	must(t, err)
	eq(t, 0, n)
	eq(t, true, r.cancelled)
	eq(t, true, errors.Is(f.q.Ack(d.Seq), ErrDeleted))
	eq(t, Dropped, f.q.Publish(Publishing{Msg: msg("e")}))
	_, err = f.q.Delete(false, false)
	eq(t, ErrDeleted, err)

	g := newFixture(t, Config{}, nil)
	pubBodies(t, g.q, "a")
	_, err = g.q.Delete(false, true)
	eq(t, ErrNotEmpty, err)
}

func TestDedupWindow(t *testing.T) {
	f := newFixture(t, Config{Options: Options{DedupWindow: 5 * time.Minute}}, nil)
	m := func(body, id string) *message.Message { x := msg(body); x.DedupID = id; return x }
	eq(t, Enqueued, f.q.Publish(Publishing{Msg: m("a", "1")}))
	eq(t, Duplicate, f.q.Publish(Publishing{Msg: m("b", "1")}))
	eq(t, Enqueued, f.q.Publish(Publishing{Msg: m("c", "2")}))
	eq(t, Enqueued, f.q.Publish(Publishing{Msg: m("d", "")}))
	f.clock.Advance(5 * time.Minute)
	eq(t, Enqueued, f.q.Publish(Publishing{Msg: m("e", "1")}))
	eq(t, []string{"a", "c", "d", "e"}, drain(f.q))
}

func TestPublishDone(t *testing.T) {
	f := newFixture(t, Config{Durable: true}, nil)
	calls := 0
	done := func(err error) { must(t, err); calls++ }
	f.q.Publish(Publishing{Msg: msg("transient"), Done: done})
	eq(t, 1, calls)
	eq(t, 0, f.st.count("/|q"))
	m := persistent(msg("p"))
	f.q.Publish(Publishing{Msg: m, Data: message.Marshal(nil, m), Done: done})
	eq(t, 2, calls)
	eq(t, 1, f.st.count("/|q"))
	drain(f.q)
	eq(t, 0, f.st.count("/|q"))
}
