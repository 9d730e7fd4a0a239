package stream

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/store"
	"github.com/junctionmq/junction/persist"
)

// TestAppendBatchSegmentPaths: over persist.DB a batch that fits one
// segment is encoded straight into it, and a larger one (2 MiB) takes
// the gathering path; either way every record reads back whole, from the
// cache and, after a reopen, from the store, at its offset.
func TestAppendBatchSegmentPaths(t *testing.T) {
	dir := t.TempDir()
	db, err := persist.Open(dir, persist.Options{GCInterval: -1})
	require.NoError(t, err)
	s, err := Open(db, "v/seg", Options{})
	require.NoError(t, err)
	batch := func(tag byte, n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = bytes.Repeat([]byte{tag, byte(i)}, 512)
		}
		return out
	}
	small, big := batch('s', 500), batch('b', 2000)
	done := make(chan error, 2)
	first, err := s.AppendBatch(KindRaw, small, func(err error) { done <- err })
	require.NoError(t, err)
	require.Equal(t, uint64(0), first)
	first, err = s.AppendBatch(KindRaw, big, func(err error) { done <- err })
	require.NoError(t, err)
	require.Equal(t, uint64(500), first)
	require.NoError(t, <-done)
	require.NoError(t, <-done)
	want := append(append([][]byte{}, small...), big...)
	check := func(s *Stream) {
		t.Helper()
		var got []Record
		for from := uint64(0); from < uint64(len(want)); {
			recs, next, err := s.Read(from, 0, 0)
			require.NoError(t, err)
			require.NotEmpty(t, recs)
			got = append(got, recs...)
			from = next
		}
		require.Len(t, got, len(want))
		for i, r := range got {
			require.Equal(t, uint64(i), r.Offset)
			require.Equal(t, want[i], r.Data, "record %d", i)
		}
	}
	check(s)
	s.Close()
	require.NoError(t, db.Close())

	db, err = persist.Open(dir, persist.Options{GCInterval: -1})
	require.NoError(t, err)
	defer db.Close()
	s, err = Open(db, "v/seg", Options{CacheRecords: 1})
	require.NoError(t, err)
	defer s.Close()
	f, n := s.Bounds()
	require.Equal(t, [2]uint64{0, 2500}, [2]uint64{f, n})
	check(s)
}

// directCounter is a persist.DB that counts the segments it was asked to
// write on the caller's goroutine.
type directCounter struct {
	*persist.DB
	direct, queued atomic.Int32
}

func (d *directCounter) WriteSegment(stream string, seg []byte, done store.Done) bool {
	if d.DB.WriteSegment(stream, seg, done) {
		d.direct.Add(1)
		return true
	}
	d.queued.Add(1)
	return false
}

// TestAppendsDirectAndQueued: concurrent batches (written on their
// callers' goroutines while the store syncs earlier ones) and single
// appends (queued to the store's writer) on one created stream: every
// append gets the offsets its done then finds durable and readable with
// its own data, and a reopen finds the stream dense, record for record.
func TestAppendsDirectAndQueued(t *testing.T) {
	dir := t.TempDir()
	pdb, err := persist.Open(dir, persist.Options{GCInterval: -1})
	require.NoError(t, err)
	db := &directCounter{DB: pdb}
	s := Create(db, "v/mix", Options{CacheRecords: 64})
	var mu sync.Mutex
	want := map[uint64]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 40 {
				tag := fmt.Sprintf("w%d-%d", w, i)
				if w == 3 && i%2 == 0 { // one worker mixes single appends in
					done := make(chan error, 1)
					off, err := s.Append(KindRaw, []byte(tag), func(err error) { done <- err })
					if !assert.NoError(t, err) || !assert.NoError(t, <-done) {
						return
					}
					mu.Lock()
					want[off] = tag
					mu.Unlock()
					continue
				}
				data := make([][]byte, 1+i%9)
				for j := range data {
					data[j] = fmt.Appendf(nil, "%s-%d-%s", tag, j, bytes.Repeat([]byte{'x'}, 300))
				}
				done := make(chan error, 1)
				first, err := s.AppendBatch(KindRaw, data, func(err error) { done <- err })
				if !assert.NoError(t, err) || !assert.NoError(t, <-done) {
					return
				}
				_, next := s.Bounds()
				assert.GreaterOrEqual(t, next, first+uint64(len(data)), "done before durable")
				mu.Lock()
				for j, d := range data {
					want[first+uint64(j)] = string(d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	// Whether the concurrent batches found nothing queued before them
	// depends on timing (one queued append makes the next ones queue
	// until it is durable); a batch with nothing queued before it is
	// always written directly.
	direct := db.direct.Load()
	done := make(chan error, 1)
	last := [][]byte{[]byte("last-0"), []byte("last-1")}
	first, err := s.AppendBatch(KindRaw, last, func(err error) { done <- err })
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.Equal(t, direct+1, db.direct.Load(), "the last segment was not written directly")
	for j, d := range last {
		want[first+uint64(j)] = string(d)
	}
	check := func(s *Stream) {
		t.Helper()
		recs := readAll(t, s, 0)
		require.Len(t, recs, len(want))
		for i, r := range recs {
			require.Equal(t, uint64(i), r.Offset)
			require.Equal(t, want[r.Offset], string(r.Data), "record %d", i)
		}
	}
	check(s)
	s.Close()
	require.NoError(t, pdb.Close())

	pdb, err = persist.Open(dir, persist.Options{GCInterval: -1})
	require.NoError(t, err)
	defer pdb.Close()
	s, err = Open(pdb, "v/mix", Options{CacheRecords: 4})
	require.NoError(t, err)
	defer s.Close()
	check(s)
}
