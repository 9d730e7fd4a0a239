package stream

import (
	"fmt"
	"testing"

	"github.com/junctionmq/junction/core/store"
	"github.com/junctionmq/junction/persist"
)

func batchOf(from, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "b%03d", from+i)
	}
	return out
}

// TestAppendBatch: a batch takes consecutive offsets after single
// appends, becomes readable together once durable, shares one arrival
// time and one Done; over a store without batches it is written record
// by record.
func TestAppendBatch(t *testing.T) {
	st, c := newFakeStore(), &fakeClock{t: 1e9}
	st.manual = true
	s, err := Open(st, "q", smallOpts(c))
	must.NoError(t, err)
	_, err = s.Append(KindRaw, []byte("a"), nil)
	must.NoError(t, err)
	dones := 0
	first, err := s.AppendBatch(KindRaw, batchOf(1, 5), func(err error) {
		must.NoError(t, err)
		dones++
	})
	must.NoError(t, err)
	check.Equal(t, uint64(1), first)
	_, next := s.Bounds()
	check.Equal(t, uint64(0), next) // nothing durable yet
	check.Equal(t, 6, st.flush())
	check.Equal(t, 1, dones)
	recs := readAll(t, s, 0)
	must.Len(t, recs, 6)
	for i, r := range recs[1:] {
		check.Equal(t, uint64(i+1), r.Offset)
		check.Equal(t, recs[1].Arrived, r.Arrived)
		check.Equal(t, fmt.Sprintf("b%03d", i+1), string(r.Data))
	}
	first, err = s.AppendBatch(KindRaw, nil, nil)
	must.NoError(t, err)
	check.Equal(t, uint64(6), first)
	s.Seal()
	_, err = s.AppendBatch(KindRaw, batchOf(0, 1), nil)
	check.ErrorIs(t, err, ErrSealed)
}

// TestAppendBatchWithBadger: batches are stored as segments; reads that
// miss the cache seek inside them; retention trims through them; the
// stream recovers after a reopen and appends on.
func TestAppendBatchWithBadger(t *testing.T) {
	dir := t.TempDir()
	db, err := persist.Open(dir, persist.Options{GCInterval: -1})
	must.NoError(t, err)
	s, err := Open(db, "v/k", Options{CacheRecords: 8, IndexInterval: 4, MaxBytes: 4 * 70})
	must.NoError(t, err)
	done := make(chan error, 10)
	for b := 0; b < 10; b++ {
		_, err := s.AppendBatch(KindRaw, batchOf(10*b, 10), func(err error) { done <- err })
		must.NoError(t, err)
	}
	for range 10 {
		must.NoError(t, <-done)
	}
	recs, next, err := s.Read(37, 5, 0) // below the cache: from the store, inside a segment
	must.NoError(t, err)
	must.Len(t, recs, 5)
	check.Equal(t, "b037", string(recs[0].Data))
	check.Equal(t, uint64(42), next)

	first, err := s.Enforce(s.now()) // 4 bytes each, keep 70
	must.NoError(t, err)
	check.Equal(t, uint64(30), first) // mid-segment: the segment [30,39] stays whole
	must.NoError(t, db.Flush())
	s.Close()
	must.NoError(t, db.Close())

	db, err = persist.Open(dir, persist.Options{GCInterval: -1})
	must.NoError(t, err)
	defer db.Close()
	s, err = Open(db, "v/k", Options{CacheRecords: 8})
	must.NoError(t, err)
	f, n := s.Bounds()
	check.Equal(t, [2]uint64{30, 100}, [2]uint64{f, n})
	recs = readAll(t, s, 0)
	must.Len(t, recs, 70)
	check.Equal(t, "b030", string(recs[0].Data))
	ch := make(chan error, 1)
	off, err := s.AppendBatch(KindRaw, batchOf(100, 3), func(err error) { ch <- err })
	must.NoError(t, err)
	must.NoError(t, <-ch)
	check.Equal(t, uint64(100), off)
	check.Equal(t, "b102", string(readAll(t, s, 102)[0].Data))
}

// BenchmarkAppendBatch appends batches of 500 records of 1 KiB (a
// Kinesis PutRecords) with a store that completes at once.
func BenchmarkAppendBatch(b *testing.B) {
	s := Create(&nopBatchStore{}, "b", Options{})
	data := make([][]byte, 500)
	for i := range data {
		data[i] = make([]byte, 1024)
	}
	b.ReportAllocs()
	b.SetBytes(500 * 1024)
	for b.Loop() {
		if _, err := s.AppendBatch(KindRaw, data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// nopBatchStore is nopStore with AppendBatch.
type nopBatchStore struct{ nopStore }

func (n *nopBatchStore) AppendBatch(_ string, _ uint64, _ [][]byte, done store.Done) {
	if done != nil {
		done(nil)
	}
}
