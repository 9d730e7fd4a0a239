package persist

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/store"
)

// TestNewSegment: a segment built in place and appended is one key whose
// records read back as filled, byte for byte the segment AppendBatch
// would have written, and survives a reopen; a batch past segMaxBytes,
// or an empty one, is refused so the caller falls back to AppendBatch.
func TestNewSegment(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{GCInterval: -1})
	want := recs(7, 40, 100)
	want[3] = nil // an empty record keeps its place
	seg, slots, ok := db.NewSegment(7, len(want), func(i int) int { return len(want[i]) })
	require.True(t, ok)
	require.Len(t, slots, len(want))
	for i, s := range slots {
		require.Len(t, s, len(want[i]))
		copy(s, want[i])
	}
	require.Equal(t, encodeSegment(7, want), seg)
	require.NoError(t, wait(func(d store.Done) { db.AppendSegment("s", seg, d) }))
	require.Equal(t, 1, countKeys(t, db, "s"))
	offs, data := recordsFrom(t, db, "s", 10)
	require.Len(t, offs, 37)
	require.Equal(t, uint64(10), offs[0])
	require.Equal(t, string(want[3]), "")
	require.Equal(t, string(want[39]), data[36])

	_, _, ok = db.NewSegment(0, 2000, func(int) int { return 1024 })
	require.False(t, ok, "2 MiB does not fit one segment")
	_, _, ok = db.NewSegment(0, 0, func(int) int { return 1 })
	require.False(t, ok)

	require.NoError(t, db.Close())
	db = openT(t, dir, Options{GCInterval: -1})
	first, next, err := db.StreamBounds("s")
	require.NoError(t, err)
	require.Equal(t, [2]uint64{7, 47}, [2]uint64{first, next})
	_, data = recordsFrom(t, db, "s", 7)
	require.Len(t, data, 40)
	for i := range want {
		require.Equal(t, string(want[i]), data[i])
	}
}
