package stream

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junctionmq/junction/core/store"
)

// Defaults for Options left zero.
const (
	DefaultCacheRecords  = 4096
	DefaultCacheBytes    = 8 << 20
	DefaultIndexInterval = 64
)

// Options configure a Stream. The zero value is usable.
type Options struct {
	// Now is the clock for arrival timestamps and retention; time.Now if nil.
	Now func() time.Time
	// MaxAge trims records older than this (0 = keep forever).
	MaxAge time.Duration
	// MaxBytes trims the oldest records while the stream holds more than
	// this many bytes of data (0 = no limit).
	MaxBytes int64
	// CacheRecords and CacheBytes bound the in-memory tail cache.
	CacheRecords int
	CacheBytes   int
	// IndexInterval is the distance in offsets between timestamp index marks.
	IndexInterval int
	// Retainer, when set, enforces MaxAge and MaxBytes on its shared timer.
	Retainer *Retainer
	// Sealed reopens a stream that was sealed (its end is where its
	// records end).
	Sealed bool
}

// Stream is an append-only log with dense offsets 0, 1, 2, ... persisted
// through a store.Store. Appends are group-committed by the store; a record
// becomes readable once durable. Any number of readers read it, each with
// its own position. All methods are safe for concurrent use.
type Stream struct {
	st   store.Store
	name string
	now  func() time.Time
	opts Options

	mu       sync.RWMutex // guards the fields below up to durable
	first    uint64       // oldest offset not trimmed
	next     uint64       // offset the next Append gets
	lastTS   int64        // arrival of the newest record
	cumFirst uint64       // index cum of first
	cumNext  uint64       // index cum of next
	sealed   bool
	closed   bool
	tail     tail
	idx      index

	durable atomic.Uint64 // offsets below are durable and readable
	failed  atomic.Pointer[error]

	wmu     sync.Mutex    // guards wch, armed and pending; taken after mu
	wch     chan struct{} // closed when durable advances, or on seal/close/trim
	armed   bool          // someone holds wch
	pending []pendingAppend
	head    int

	// segMu orders the store calls of appends as their offsets (taken
	// after mu, which an append drops before a segment write that blocks:
	// readers need mu, not the store). It guards queuedEnd.
	segMu     sync.Mutex
	queuedEnd uint64       // offset after the last append the store queued
	dropping  atomic.Int32 // Create's DropStream, until done

	trimMu   sync.Mutex // serializes retention runs
	onCommit store.Done // s.commit, allocated once
	batches  batchStore // st, if it stores a batch as one value
	segs     segmentStore
	direct   directStore // st, if it writes a segment on the caller's goroutine
}

// pendingAppend is one store write not yet durable: n records and the
// caller's done, in offset order from Stream.head on.
type pendingAppend struct {
	done store.Done
	n    uint64
}

// batchStore is a store that keeps a batch of records as one value
// (persist.DB: one segment, one key).
type batchStore interface {
	AppendBatch(stream string, first uint64, recs [][]byte, done store.Done)
}

// segmentStore is a batchStore that lets the caller encode a batch
// straight into the value it stores (persist.DB: NewSegment then
// AppendSegment), so the records are copied once rather than encoded and
// then gathered.
type segmentStore interface {
	NewSegment(first uint64, n int, size func(i int) int) (seg []byte, recs [][]byte, ok bool)
	AppendSegment(stream string, seg []byte, done store.Done)
}

// directStore is a segmentStore that can write a segment on the
// caller's goroutine and queue only its sync (persist.DB.WriteSegment),
// so that one append's write overlaps the previous one's sync. It reports
// false when it queued the write instead. It must not be called while an
// earlier append of the stream is queued and not yet durable, nor before
// Create's DropStream is done: see Stream.writeDirect.
type directStore interface {
	WriteSegment(stream string, seg []byte, done store.Done) bool
}

// Open opens the stream name in st, recovering its bounds, tail cache and
// timestamp index by one scan of its records. A stream never written is
// empty.
func Open(st store.Store, name string, opts Options) (*Stream, error) {
	s := newStream(st, name, opts)
	if err := s.recover(); err != nil {
		return nil, err
	}
	s.start()
	return s, nil
}

// Create starts a brand-new empty stream without reading the store: it
// queues a DropStream first so that leftovers under the same name (from a
// definition that was never saved) cannot surface. It does no I/O.
func Create(st store.Store, name string, opts Options) *Stream {
	s := newStream(st, name, opts)
	s.dropping.Add(1)
	st.DropStream(name, func(err error) {
		s.dropping.Add(-1)
		s.onTrim(err)
	})
	s.start()
	return s
}

func newStream(st store.Store, name string, opts Options) *Stream {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheRecords <= 0 {
		opts.CacheRecords = DefaultCacheRecords
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.IndexInterval <= 0 {
		opts.IndexInterval = DefaultIndexInterval
	}
	s := &Stream{
		st: st, name: name, now: opts.Now, opts: opts,
		tail: newTail(opts.CacheRecords, opts.CacheBytes),
		idx:  index{every: uint64(opts.IndexInterval)},
		wch:  make(chan struct{}),
	}
	s.onCommit = s.commit
	s.batches, _ = st.(batchStore)
	s.segs, _ = st.(segmentStore)
	s.direct, _ = st.(directStore)
	return s
}

// start applies Sealed and registers with the Retainer.
func (s *Stream) start() {
	if s.opts.Sealed {
		s.sealed = true
	}
	if s.opts.Retainer != nil {
		s.opts.Retainer.Add(s)
	}
}

// recover scans the stored records once: it checks they are dense, builds
// the index and fills the tail cache with the newest of them.
func (s *Stream) recover() error {
	first, next, err := s.st.StreamBounds(s.name)
	if err != nil {
		return fmt.Errorf("stream %s: bounds: %w", s.name, err)
	}
	s.first, s.next = first, first
	var derr error
	cacheFrom := uint64(0)
	if next > uint64(s.opts.CacheRecords) {
		cacheFrom = next - uint64(s.opts.CacheRecords)
	}
	err = s.st.Records(s.name, first, func(off uint64, enc []byte) bool {
		if off != s.next {
			derr = fmt.Errorf("%w: stream %s: want offset %d, found %d", ErrGap, s.name, s.next, off)
			return false
		}
		r, err := decodeRecord(off, enc)
		if err != nil {
			derr = err
			return false
		}
		s.idx.add(off, r.Arrived, s.cumNext)
		s.cumNext += uint64(r.Size())
		s.lastTS = max(s.lastTS, r.Arrived)
		if off >= cacheFrom {
			r.Data = append([]byte(nil), r.Data...)
			s.tail.push(r)
		}
		s.next++
		return true
	})
	if err == nil {
		err = derr
	}
	if err == nil && s.next != next {
		err = fmt.Errorf("%w: stream %s: bounds say next %d, records end at %d", ErrGap, s.name, next, s.next)
	}
	if err != nil {
		return fmt.Errorf("stream %s: recover: %w", s.name, err)
	}
	s.durable.Store(s.next)
	return nil
}

// Name returns the stream's store key.
func (s *Stream) Name() string { return s.name }

// Append adds a record and returns its offset. done, if not nil, is called
// once the record is durable (or failed), from the store's writer
// goroutine, possibly before Append returns; it must not block or call back
// into the Stream. The record becomes readable when durable. data is copied.
func (s *Stream) Append(kind Kind, data []byte, done store.Done) (uint64, error) {
	s.mu.Lock()
	if err := s.appendable(); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	off := s.next
	s.next++
	ts := max(s.now().UnixNano(), s.lastTS)
	s.lastTS = ts
	enc, r := encodeRecord(off, ts, kind, data)
	s.tail.push(r)
	s.idx.add(off, ts, s.cumNext)
	s.cumNext += uint64(len(data))
	s.wmu.Lock()
	s.pending = append(s.pending, pendingAppend{done: done, n: 1})
	s.wmu.Unlock()
	// The store only queues the write; segMu keeps it after the appends
	// before it whose segment write is under way.
	s.segMu.Lock()
	s.mu.Unlock()
	s.st.Append(s.name, off, enc, s.onCommit)
	s.queuedEnd = off + 1
	s.segMu.Unlock()
	return off, nil
}

// AppendBatch adds one record per element of data, at consecutive offsets
// with one arrival time, and returns the first offset. The store writes
// the batch as one value when it can (a Kinesis PutRecords's records for
// one shard: one key, one value). done, if not nil, is called once, when
// every record is durable (or failed), as for Append. The records become
// readable together. data is copied.
func (s *Stream) AppendBatch(kind Kind, data [][]byte, done store.Done) (uint64, error) {
	s.mu.Lock()
	if err := s.appendable(); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	first := s.next
	if len(data) == 0 {
		s.mu.Unlock()
		if done != nil {
			done(nil)
		}
		return first, nil
	}
	ts := max(s.now().UnixNano(), s.lastTS)
	s.lastTS = ts
	var seg []byte
	var encs [][]byte
	if s.segs != nil {
		var ok bool
		if seg, encs, ok = s.segs.NewSegment(first, len(data), func(i int) int { return headerLen + len(data[i]) }); ok {
			for i, enc := range encs {
				encodeRecordInto(enc, first+uint64(i), ts, kind, data[i])
			}
		}
	}
	if seg == nil {
		encs = encodeRecords(first, ts, kind, data)
	}
	for i, enc := range encs {
		off := first + uint64(i)
		r := Record{Offset: off, Arrived: ts, Kind: kind, Data: enc[headerLen:]}
		s.tail.push(r)
		s.idx.add(off, ts, s.cumNext)
		s.cumNext += uint64(len(r.Data))
	}
	s.next += uint64(len(data))
	s.wmu.Lock()
	if seg != nil || s.batches != nil {
		s.pending = append(s.pending, pendingAppend{done: done, n: uint64(len(data))})
	} else {
		for i := range encs {
			p := pendingAppend{n: 1}
			if i == len(encs)-1 {
				p.done = done
			}
			s.pending = append(s.pending, p)
		}
	}
	s.wmu.Unlock()
	// The store calls keep offset order under segMu; mu is dropped first,
	// so a segment written on this goroutine (writeDirect) keeps no
	// reader waiting.
	end := s.next
	s.segMu.Lock()
	s.mu.Unlock()
	switch {
	case seg != nil && s.writeDirect(seg, end):
	case seg != nil:
		s.segs.AppendSegment(s.name, seg, s.onCommit)
		s.queuedEnd = end
	case s.batches != nil:
		s.batches.AppendBatch(s.name, first, encs, s.onCommit)
		s.queuedEnd = end
	default:
		for i, enc := range encs {
			s.st.Append(s.name, first+uint64(i), enc, s.onCommit)
		}
		s.queuedEnd = end
	}
	s.segMu.Unlock()
	return first, nil
}

// writeDirect hands seg to the store to write on this goroutine, when it
// can and may, and reports whether it handed seg over (the store may
// still queue it: then the next segments wait for it). It may not while an earlier
// append is queued and not yet durable (written after it, the segment
// could outlive it in a crash and leave a gap) or Create's DropStream is
// pending (which would delete it). end is the offset after the segment's
// last record. Call with segMu held.
func (s *Stream) writeDirect(seg []byte, end uint64) bool {
	if s.direct == nil || s.dropping.Load() != 0 || s.durable.Load() < s.queuedEnd {
		return false
	}
	if s.direct.WriteSegment(s.name, seg, s.onCommit) {
		return true
	}
	s.queuedEnd = end // queued by the store instead
	return true
}

// appendable reports why the stream takes no appends. Call with mu held.
func (s *Stream) appendable() error {
	switch {
	case s.closed:
		return ErrClosed
	case s.sealed:
		return ErrSealed
	}
	if p := s.failed.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrFailed, *p)
	}
	return nil
}

// commit is the store's Done for every append. The store completes
// operations in submission order, so each call is for the oldest pending
// append.
func (s *Stream) commit(err error) {
	s.wmu.Lock()
	p := s.pending[s.head]
	s.pending[s.head] = pendingAppend{}
	s.head++
	if s.head == len(s.pending) {
		s.pending, s.head = s.pending[:0], 0
	}
	if err != nil {
		s.fail(err)
	} else if s.failed.Load() == nil {
		s.durable.Add(p.n)
		s.wakeLocked()
	}
	s.wmu.Unlock()
	if p.done != nil {
		p.done(err)
	}
}

// fail records the first append failure; kept apart from commit so that
// err escapes to the heap only when there is one.
func (s *Stream) fail(err error) {
	s.failed.CompareAndSwap(nil, &err)
}

// wakeLocked wakes everyone waiting on wch. Call with wmu held.
func (s *Stream) wakeLocked() {
	if s.armed {
		close(s.wch)
		s.wch = make(chan struct{})
		s.armed = false
	}
}

func (s *Stream) wake() {
	s.wmu.Lock()
	s.wakeLocked()
	s.wmu.Unlock()
}

// Notify returns a channel closed at the next change a reader can see: a
// record becoming durable, a seal, a trim or Close.
func (s *Stream) Notify() <-chan struct{} {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.armed = true
	return s.wch
}

// Seal closes the stream to appends and returns its end offset (the offset
// after its last record). Sealing a sealed stream returns the same end.
func (s *Stream) Seal() uint64 {
	s.mu.Lock()
	s.sealed = true
	end := s.next
	s.mu.Unlock()
	s.wake()
	return end
}

// Sealed returns the end offset and true if the stream is sealed.
func (s *Stream) Sealed() (end uint64, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.next, s.sealed
}

// Bounds returns the first offset still held and the offset after the last
// readable (durable) record; first == next when the stream is empty.
func (s *Stream) Bounds() (first, next uint64) {
	s.mu.RLock()
	first = s.first
	s.mu.RUnlock()
	return first, max(first, s.durable.Load())
}

// Bytes returns the data bytes held (appended and not trimmed).
func (s *Stream) Bytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return int64(s.cumNext - s.cumFirst)
}

// Close stops appends and wakes waiters (they get ErrClosed). It does not
// close the store; records submitted before Close still commit.
func (s *Stream) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.opts.Retainer != nil {
		s.opts.Retainer.Remove(s)
	}
	s.wake()
}

// Drop closes the stream and deletes its records from the store.
func (s *Stream) Drop(done store.Done) {
	s.Close()
	// After the segment writes under way, so that the drop deletes them.
	s.segMu.Lock()
	s.st.DropStream(s.name, done)
	s.segMu.Unlock()
}
