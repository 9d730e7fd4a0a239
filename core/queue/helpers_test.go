package queue

import (
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/store"
)

// memStore is an in-memory store.Store for queue entries and a
// store.Pager; the rest is stubbed.
type memStore struct {
	mu      sync.Mutex // guards entries, data, dropped, pages, lose, reads
	entries map[string]map[uint64]store.Entry
	data    map[string]map[uint64][]byte
	dropped []string
	pages   map[string]map[uint64][]byte
	lose    bool // PageIn finds nothing
	reads   int  // PageIn calls
	// onPageOut, when set, runs (once, no lock held) before PageOut's done.
	onPageOut func()
}

func newMemStore() *memStore {
	return &memStore{entries: map[string]map[uint64]store.Entry{}, data: map[string]map[uint64][]byte{},
		pages: map[string]map[uint64][]byte{}}
}

func (s *memStore) PageOut(q string, seq uint64, data []byte, done store.Done) {
	s.mu.Lock()
	if s.pages[q] == nil {
		s.pages[q] = map[uint64][]byte{}
	}
	s.pages[q][seq] = append([]byte(nil), data...)
	hook := s.onPageOut
	s.onPageOut = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	if done != nil {
		done(nil)
	}
}

func (s *memStore) PageIn(q string, seqs []uint64, fn func(int, []byte)) error {
	s.mu.Lock()
	s.reads++
	var found [][]byte
	if !s.lose {
		for _, seq := range seqs {
			found = append(found, s.pages[q][seq])
		}
	}
	s.mu.Unlock()
	for i, data := range found {
		if data != nil {
			fn(i, data)
		}
	}
	return nil
}

func (s *memStore) RemovePaged(q string, seq uint64, done store.Done) {
	s.mu.Lock()
	delete(s.pages[q], seq)
	s.mu.Unlock()
	if done != nil {
		done(nil)
	}
}

func (s *memStore) DropPaged(q string, done store.Done) {
	s.mu.Lock()
	delete(s.pages, q)
	s.mu.Unlock()
	if done != nil {
		done(nil)
	}
}

// paged counts the pages of every queue.
func (s *memStore) paged() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.pages {
		n += len(p)
	}
	return n
}

func (s *memStore) Enqueue(q string, e store.Entry, data []byte, done store.Done) {
	s.mu.Lock()
	if s.entries[q] == nil {
		s.entries[q], s.data[q] = map[uint64]store.Entry{}, map[uint64][]byte{}
	}
	s.entries[q][e.Seq] = e
	s.data[q][e.Seq] = append([]byte(nil), data...)
	s.mu.Unlock()
	if done != nil {
		done(nil)
	}
}

func (s *memStore) Update(q string, e store.Entry, done store.Done) {
	s.mu.Lock()
	if old, ok := s.entries[q][e.Seq]; ok {
		old.DeliveryCount, old.NotBefore, old.FirstReceived = e.DeliveryCount, e.NotBefore, e.FirstReceived
		s.entries[q][e.Seq] = old
	}
	s.mu.Unlock()
	if done != nil {
		done(nil)
	}
}

func (s *memStore) Remove(q string, seq uint64, done store.Done) {
	s.mu.Lock()
	delete(s.entries[q], seq)
	delete(s.data[q], seq)
	s.mu.Unlock()
	if done != nil {
		done(nil)
	}
}

func (s *memStore) DropQueue(q string, done store.Done) {
	s.mu.Lock()
	delete(s.entries, q)
	delete(s.data, q)
	s.dropped = append(s.dropped, q)
	s.mu.Unlock()
	if done != nil {
		done(nil)
	}
}

func (s *memStore) Messages(q string, fn func(e store.Entry, data []byte) error) error {
	s.mu.Lock()
	var es []store.Entry
	for _, e := range s.entries[q] {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].Seq < es[j].Seq })
	datas := make([][]byte, len(es))
	for i, e := range es {
		datas[i] = s.data[q][e.Seq]
	}
	s.mu.Unlock()
	for i, e := range es {
		if err := fn(e, datas[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStore) count(q string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries[q])
}

func (s *memStore) entry(q string, seq uint64) (store.Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[q][seq]
	return e, ok
}

func (s *memStore) Append(string, uint64, []byte, store.Done)               { panic("unused") }
func (s *memStore) Trim(string, uint64, store.Done)                         { panic("unused") }
func (s *memStore) DropStream(string, store.Done)                           { panic("unused") }
func (s *memStore) Records(string, uint64, func(uint64, []byte) bool) error { return nil }
func (s *memStore) StreamBounds(string) (uint64, uint64, error)             { return 0, 0, nil }
func (s *memStore) PutDef(string, string, []byte) error                     { return nil }
func (s *memStore) DeleteDef(string, string) error                          { return nil }
func (s *memStore) Defs(string, func(string, []byte) error) error           { return nil }
func (s *memStore) PutState(string, string, []byte) error                   { return nil }
func (s *memStore) DeleteState(string, string) error                        { return nil }
func (s *memStore) States(string, func(string, []byte) error) error         { return nil }
func (s *memStore) Flush() error                                            { return nil }
func (s *memStore) Close() error                                            { return nil }

// recorder is a Consumer that records deliveries.
type recorder struct {
	mu        sync.Mutex // guards ds, cancelled, active
	ds        []Delivery
	cancelled bool
	active    []bool
}

func (r *recorder) Deliver(d Delivery) {
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.mu.Unlock()
}

func (r *recorder) Cancelled() {
	r.mu.Lock()
	r.cancelled = true
	r.mu.Unlock()
}

func (r *recorder) ActiveChanged(a bool) { r.active = append(r.active, a) }

func (r *recorder) got() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.ds...)
}

// bodies returns the bodies of the recorded deliveries.
func (r *recorder) bodies() []string { return bodies(r.got()) }

func bodies(ds []Delivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, string(d.Msg.Body))
	}
	return out
}

// dlRec records dead-lettered messages.
type dlRec struct {
	mu   sync.Mutex // guards msgs, xs, rks
	msgs []*message.Message
	xs   []string
	rks  []string
}

func (d *dlRec) fn(m *message.Message, x, rk string) {
	d.mu.Lock()
	d.msgs, d.xs, d.rks = append(d.msgs, m), append(d.xs, x), append(d.rks, rk)
	d.mu.Unlock()
}

func (d *dlRec) bodies() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []string{}
	for _, m := range d.msgs {
		out = append(out, string(m.Body))
	}
	return out
}

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture is a queue on a manual clock with a dead-letter recorder.
type fixture struct {
	q     *Queue
	clock *ManualClock
	dl    *dlRec
	st    *memStore
}

func newFixture(t testing.TB, cfg Config, args message.Table) *fixture {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "q"
	}
	if cfg.Vhost == "" {
		cfg.Vhost = "/"
	}
	if cfg.Key == "" {
		cfg.Key = cfg.Vhost + "|" + cfg.Name
	}
	a, err := ParseQueueArgs(cfg.Vhost, cfg.Name, args)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Args = a
	f := &fixture{clock: NewManualClock(t0), dl: &dlRec{}, st: newMemStore()}
	f.q = New(cfg, Deps{Store: f.st, Clock: f.clock, DeadLetter: f.dl.fn})
	return f
}

// msg builds a transient message with the given body.
func msg(body string) *message.Message {
	return &message.Message{Exchange: "ex", RoutingKey: "rk", Body: []byte(body), Arrived: t0.UnixNano()}
}

func pub(t testing.TB, q *Queue, ms ...*message.Message) {
	t.Helper()
	for _, m := range ms {
		if r := q.Publish(Publishing{Msg: m}); r != Enqueued {
			t.Fatalf("publish %q: result %d", m.Body, r)
		}
	}
}

func pubBodies(t testing.TB, q *Queue, bs ...string) {
	t.Helper()
	for _, b := range bs {
		pub(t, q, msg(b))
	}
}

func withPrio(m *message.Message, p uint8) *message.Message {
	m.Props.Priority, m.Props.Flags = p, m.Props.Flags|message.FlagPriority
	return m
}

func withExpiration(m *message.Message, ms int) *message.Message {
	m.Props.Expiration, m.Props.Flags = strconv.Itoa(ms), m.Props.Flags|message.FlagExpiration
	return m
}

func persistent(m *message.Message) *message.Message {
	m.Props.DeliveryMode, m.Props.Flags = 2, m.Props.Flags|message.FlagDeliveryMode
	return m
}

// drain gets every ready message with autoAck and returns the bodies.
func drain(q *Queue) []string {
	out := []string{}
	for {
		d, ok := q.Get(true)
		if !ok {
			return out
		}
		out = append(out, string(d.Msg.Body))
	}
}

// eq fails the test when got differs from want (testify is not usable:
// go.sum lacks its yaml dependency).
func eq[T any](t testing.TB, want, got T, what ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%v: want %#v, got %#v", what, want, got)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
