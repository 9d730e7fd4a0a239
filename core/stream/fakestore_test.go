package stream

import (
	"sort"
	"sync"
	"time"

	"github.com/junctionmq/junction/core/store"
)

// fakeStore is an in-memory store.Store for stream tests. In manual mode
// writes queue until flush, which applies them in order and calls their
// dones (a group commit); otherwise they apply and complete at once.
type fakeStore struct {
	mu      sync.Mutex // guards everything below
	streams map[string]map[uint64][]byte
	firsts  map[string]uint64
	defs    map[string][]byte
	manual  bool
	queue   []fakeOp
	failAt  map[uint64]error // offset -> error to return from Append
}

type fakeOp struct {
	apply func()
	done  store.Done
	err   error
}

var _ store.Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{streams: map[string]map[uint64][]byte{}, firsts: map[string]uint64{}, defs: map[string][]byte{}}
}

func (f *fakeStore) submit(op fakeOp) {
	f.mu.Lock()
	if f.manual {
		f.queue = append(f.queue, op)
		f.mu.Unlock()
		return
	}
	if op.err == nil {
		op.apply()
	}
	f.mu.Unlock()
	if op.done != nil {
		op.done(op.err)
	}
}

// flush applies queued writes and calls their dones, in order.
func (f *fakeStore) flush() int {
	f.mu.Lock()
	q := f.queue
	f.queue = nil
	for _, op := range q {
		if op.err == nil {
			op.apply()
		}
	}
	f.mu.Unlock()
	for _, op := range q {
		if op.done != nil {
			op.done(op.err)
		}
	}
	return len(q)
}

func (f *fakeStore) Append(name string, off uint64, rec []byte, done store.Done) {
	f.mu.Lock()
	err := f.failAt[off]
	f.mu.Unlock()
	f.submit(fakeOp{err: err, done: done, apply: func() {
		m := f.streams[name]
		if m == nil {
			m = map[uint64][]byte{}
			f.streams[name] = m
		}
		m[off] = rec
	}})
}

func (f *fakeStore) Trim(name string, below uint64, done store.Done) {
	f.submit(fakeOp{done: done, apply: func() {
		for off := range f.streams[name] {
			if off < below {
				delete(f.streams[name], off)
			}
		}
		f.firsts[name] = max(f.firsts[name], below)
	}})
}

func (f *fakeStore) DropStream(name string, done store.Done) {
	f.submit(fakeOp{done: done, apply: func() {
		delete(f.streams, name)
		delete(f.firsts, name)
	}})
}

func (f *fakeStore) Records(name string, from uint64, fn func(uint64, []byte) bool) error {
	f.mu.Lock()
	var offs []uint64
	for off := range f.streams[name] {
		if off >= from {
			offs = append(offs, off)
		}
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	recs := make([][]byte, len(offs))
	for i, off := range offs {
		recs[i] = f.streams[name][off]
	}
	f.mu.Unlock()
	for i, off := range offs {
		if !fn(off, recs[i]) {
			break
		}
	}
	return nil
}

func (f *fakeStore) StreamBounds(name string) (uint64, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	first, next := f.firsts[name], f.firsts[name]
	for off := range f.streams[name] {
		next = max(next, off+1)
	}
	return first, next, nil
}

func (f *fakeStore) PutDef(kind, key string, val []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.defs[kind+"\x00"+key] = append([]byte(nil), val...)
	return nil
}

func (f *fakeStore) DeleteDef(kind, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.defs, kind+"\x00"+key)
	return nil
}

func (f *fakeStore) Defs(kind string, fn func(string, []byte) error) error {
	f.mu.Lock()
	var keys []string
	for k := range f.defs {
		if len(k) > len(kind) && k[:len(kind)+1] == kind+"\x00" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = f.defs[k]
	}
	f.mu.Unlock()
	for i, k := range keys {
		if err := fn(k[len(kind)+1:], vals[i]); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStore) Enqueue(string, store.Entry, []byte, store.Done)        {}
func (f *fakeStore) Update(string, store.Entry, store.Done)                 {}
func (f *fakeStore) Remove(string, uint64, store.Done)                      {}
func (f *fakeStore) DropQueue(string, store.Done)                           {}
func (f *fakeStore) Messages(string, func(store.Entry, []byte) error) error { return nil }
func (f *fakeStore) PutState(string, string, []byte) error                  { return nil }
func (f *fakeStore) DeleteState(string, string) error                       { return nil }
func (f *fakeStore) States(string, func(string, []byte) error) error        { return nil }
func (f *fakeStore) Flush() error                                           { f.flush(); return nil }
func (f *fakeStore) Close() error                                           { return nil }

// nopStore completes every write at once and stores nothing.
type nopStore struct{ fakeStore }

var _ store.Store = (*nopStore)(nil)

func (*nopStore) Append(_ string, _ uint64, _ []byte, done store.Done) {
	if done != nil {
		done(nil)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  int64
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Unix(0, c.t)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t += int64(d)
	c.mu.Unlock()
}
