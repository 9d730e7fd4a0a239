package queue

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
)

// pageOut runs PageOut and fails the test on an error.
func pageOut(t testing.TB, q *Queue, keep int) int {
	t.Helper()
	n, err := q.PageOut(context.Background(), keep)
	must(t, err)
	return n
}

// numbered publishes n messages with bodies "0".."n-1", a message id and
// a header each.
func numbered(t testing.TB, q *Queue, n int) {
	t.Helper()
	for i := range n {
		m := msg(fmt.Sprint(i))
		m.Props.MessageID = fmt.Sprint("id-", i)
		m.Props.Headers = message.Table{{Key: "i", Value: int64(i)}}
		m.Props.Flags |= message.FlagMessageID | message.FlagHeaders
		pub(t, q, m)
	}
}

func TestPageOutAndBackIn(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	const n, keep = 5000, 100
	numbered(t, f.q, n)
	before := f.q.Stats()
	eq(t, n-keep, pageOut(t, f.q, keep), "paged out")
	s := f.q.Stats()
	eq(t, n-keep, s.PagedOut, "PagedOut")
	eq(t, before.Bytes, s.Bytes, "Bytes")
	eq(t, s.Bytes-s.PagedOutBytes, s.MemoryBytes(), "MemoryBytes")
	if s.MemoryBytes() > keep*4 {
		t.Fatalf("MemoryBytes %d after paging out all but %d", s.MemoryBytes(), keep)
	}
	eq(t, n-keep, f.st.paged(), "pages in the store")
	eq(t, 0, pageOut(t, f.q, keep), "second PageOut")

	for i := range n {
		d, ok := f.q.Get(false)
		if !ok {
			t.Fatalf("Get %d: empty", i)
		}
		v, _ := d.Msg.Props.Headers.Get("i")
		if string(d.Msg.Body) != fmt.Sprint(i) || d.Msg.Props.MessageID != fmt.Sprint("id-", i) || v != int64(i) ||
			d.Msg.RoutingKey != "rk" || d.Msg.Arrived != t0.UnixNano() {
			t.Fatalf("delivery %d: %+v", i, d.Msg)
		}
		must(t, f.q.Ack(d.Seq))
	}
	eq(t, Stats{}, f.q.Stats(), "stats after draining")
	eq(t, 0, f.st.paged(), "pages left")
	if f.st.reads > (n-keep)/pageInBatch+1 {
		t.Errorf("%d store reads to page %d messages back in", f.st.reads, n-keep)
	}
}

// The last messages to be delivered are paged first: the lowest priority,
// the tail of each level; keep spares the next to deliver across levels.
func TestPageOutPriorities(t *testing.T) {
	f := newFixture(t, Config{}, message.Table{{Key: "x-max-priority", Value: int32(5)}})
	for i := range 6 {
		pub(t, f.q, withPrio(msg(fmt.Sprint(i)), uint8(5*(i%2)))) // odd: high
	}
	eq(t, 3, pageOut(t, f.q, 3))
	var stubs []string
	for l := range f.q.ready {
		d := &f.q.ready[l]
		for i := range d.n {
			if d.at(i).msg == nil {
				stubs = append(stubs, fmt.Sprint(l, "/", d.at(i).seq))
			}
		}
	}
	eq(t, []string{"0/1", "0/3", "0/5"}, stubs, "stubs (level/seq)")
	eq(t, []string{"1", "3", "5", "0", "2", "4"}, drain(f.q))
	eq(t, 0, f.st.paged())
}

// Stubs that leave the queue without being delivered take their pages
// with them; dead-lettered ones are paged back in first.
func TestPagedStubsLeave(t *testing.T) {
	dlx := message.Field{Key: "x-dead-letter-exchange", Value: "dlx"}
	tests := []struct {
		name  string
		args  message.Table
		opts  Options
		leave func(t *testing.T, f *fixture)
		ready []string
		dead  []string
	}{
		{"purge", nil, Options{}, func(t *testing.T, f *fixture) { _, _ = f.q.Purge() }, []string{}, nil},
		{"purge all", nil, Options{}, func(t *testing.T, f *fixture) { _, _ = f.q.PurgeAll() }, []string{}, nil},
		{"delete", nil, Options{}, func(t *testing.T, f *fixture) { _, _ = f.q.Delete(false, false) }, []string{}, nil},
		{"expired, no dlx", message.Table{{Key: "x-message-ttl", Value: int32(1000)}}, Options{},
			func(t *testing.T, f *fixture) { f.clock.Advance(2 * time.Second) }, []string{}, nil},
		{"expired, dead-lettered", message.Table{dlx, {Key: "x-message-ttl", Value: int32(1000)}}, Options{},
			func(t *testing.T, f *fixture) { f.clock.Advance(2 * time.Second) }, []string{}, []string{"a", "b", "c", "d"}},
		{"retention", nil, Options{Retention: time.Minute},
			func(t *testing.T, f *fixture) { f.clock.Advance(2 * time.Minute) }, []string{}, nil},
		{"max-length drop-head", message.Table{dlx}, Options{},
			func(t *testing.T, f *fixture) {
				a := f.q.Config().Args
				a.MaxLength = 1
				must(t, f.q.SetPolicyArgs(a))
			}, []string{"d"}, []string{"a", "b", "c"}},
		{"ack of an expired lease's receipt", nil, Options{},
			func(t *testing.T, f *fixture) { must(t, f.q.AckLease(4, 0)) }, []string{"a", "b", "c"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{Options: tt.opts}, tt.args)
			pubBodies(t, f.q, "a", "b", "c", "d")
			eq(t, 4, pageOut(t, f.q, 0))
			tt.leave(t, f)
			eq(t, tt.ready, drain(f.q), "ready")
			eq(t, tt.dead, nilIfEmpty(f.dl.bodies()), "dead-lettered")
			eq(t, 0, f.st.paged(), "pages left")
			eq(t, 0, f.q.Stats().PagedOut, "PagedOut")
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// A stub the store cannot give back is dropped and counted; the queue
// goes on with the next message.
func TestPageLost(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	pubBodies(t, f.q, "a", "b", "c")
	eq(t, 2, pageOut(t, f.q, 1))
	f.st.mu.Lock()
	f.st.lose = true
	f.st.mu.Unlock()
	eq(t, []string{"a"}, drain(f.q))
	s := f.q.Stats()
	eq(t, 2, s.PageLost, "PageLost")
	eq(t, 0, s.PagedOut, "PagedOut")
	eq(t, 0, s.Bytes, "Bytes")
	eq(t, 0, f.st.paged(), "pages left")
}

// Entries delivered while their pages are written stay in memory and
// their pages are removed.
func TestPageOutRacesDelivery(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	pubBodies(t, f.q, "a", "b", "c")
	var got []string
	f.st.onPageOut = func() { got = drain(f.q) }
	eq(t, 0, pageOut(t, f.q, 0))
	eq(t, []string{"a", "b", "c"}, got)
	eq(t, 0, f.st.paged(), "pages left")
	eq(t, Stats{}, f.q.Stats())
}

// Persistent messages, FIFO queues and stores that cannot page are not
// paged.
func TestPageOutSkips(t *testing.T) {
	f := newFixture(t, Config{Durable: true}, nil)
	m := persistent(msg("p"))
	f.q.Publish(Publishing{Msg: m, Data: message.Marshal(nil, m)})
	pubBodies(t, f.q, "t")
	eq(t, 1, pageOut(t, f.q, 0), "durable queue")
	eq(t, []string{"p", "t"}, drain(f.q))

	f = newFixture(t, Config{Options: Options{FIFO: true}}, nil)
	pubBodies(t, f.q, "a")
	eq(t, 0, pageOut(t, f.q, 0), "fifo")

	q := New(Config{Name: "q", Args: mustArgs(t, nil)}, Deps{})
	pubBodies(t, q, "a")
	eq(t, 0, pageOut(t, q, 0), "no store")
}

// A consumer drains the queue while PageOut runs again and again: every
// message arrives once, in order, with its body.
func TestPageOutConcurrent(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	const n = 20000
	numbered(t, f.q, n)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			_, _ = f.q.PageOut(ctx, 10)
		}
	}()
	for i := range n {
		d, ok := f.q.Get(true)
		if !ok {
			t.Fatalf("Get %d: empty", i)
		}
		if string(d.Msg.Body) != fmt.Sprint(i) {
			t.Fatalf("delivery %d: body %q", i, d.Msg.Body)
		}
	}
	cancel()
	wg.Wait()
	eq(t, 0, f.st.paged(), "pages left")
	eq(t, Stats{}, f.q.Stats())
}
