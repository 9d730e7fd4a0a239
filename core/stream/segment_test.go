package stream

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

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
