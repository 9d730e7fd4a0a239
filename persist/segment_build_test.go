package persist

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

// segmentOf builds the segment of records as NewSegment lays it out.
func segmentOf(t *testing.T, db *DB, first uint64, records [][]byte) []byte {
	t.Helper()
	seg, slots, ok := db.NewSegment(first, len(records), func(i int) int { return len(records[i]) })
	require.True(t, ok)
	for i, s := range slots {
		copy(s, records[i])
	}
	return seg
}

// TestWriteSegmentDurable: a segment written on the caller's goroutine
// (to a segment file, synced, and its reference to Badger; the sync of
// Badger's log queued alone, a batch with nothing to write) is durable
// when its done runs: the segment file was synced, no page of any log
// mapping is dirty, and a reopen reads every record. Queued writes of
// other kinds in between share the syncs.
func TestWriteSegmentDurable(t *testing.T) {
	dir, opts, storeDir := smallLogsStore(t)
	db := openT(t, dir, opts)
	next := uint64(0)
	for i := range 60 {
		records := recs(int(next), 1+i%7, 100+i) // from 100 B to over 1 MiB of log files in all
		seg := segmentOf(t, db, next, records)
		before := db.segFiles.syncs.Load()
		var direct bool
		require.NoError(t, wait(func(d store.Done) { direct = db.WriteSegment("s", seg, d) }))
		require.True(t, direct, "segment %d was queued", i)
		require.Empty(t, dirtyLogKiB(t, storeDir), "after segment %d: log pages left dirty", i)
		require.Equal(t, before+1, db.segFiles.syncs.Load(), "segment %d: its file was not synced", i)
		next += uint64(len(records))
		if i%5 == 0 {
			require.NoError(t, wait(func(d store.Done) {
				db.Enqueue("q", store.Entry{Seq: uint64(i + 1), MsgID: uint64(i + 1)}, []byte("m"), d)
			}))
		}
	}
	offs, _ := recordsFrom(t, db, "s", 0)
	require.Len(t, offs, int(next))
	files := db.segFiles.diskBytes()
	require.Positive(t, files)
	require.GreaterOrEqual(t, db.Size(), files, "the store's size counts its segment files")
	require.NoError(t, db.Close())

	db = openT(t, dir, opts)
	first, end, err := db.StreamBounds("s")
	require.NoError(t, err)
	require.Equal(t, [2]uint64{0, next}, [2]uint64{first, end})
	offs, data := recordsFrom(t, db, "s", 0)
	require.Len(t, offs, int(next))
	for i, off := range offs {
		require.Equal(t, uint64(i), off)
		require.True(t, strings.HasPrefix(data[i], fmt.Sprintf("r%d.", i)), "record %d: %.20q", i, data[i])
	}
	require.Len(t, messages(t, db, "q"), 12)
}

// TestWriteSegmentQueuedWhenDiskLow: with the disk alarm on, WriteSegment
// writes nothing itself; it queues the segment, which the writer refuses
// with ErrDiskFull as any append.
func TestWriteSegmentQueuedWhenDiskLow(t *testing.T) {
	db := openT(t, t.TempDir(), Options{GCInterval: -1, DiskFreeLimit: 1 << 62})
	require.NoError(t, db.Flush()) // the writer reads the free space
	require.True(t, db.DiskLow())
	seg := segmentOf(t, db, 0, recs(0, 3, 50))
	var direct bool
	err := wait(func(d store.Done) { direct = db.WriteSegment("s", seg, d) })
	require.False(t, direct)
	require.ErrorIs(t, err, store.ErrDiskFull)
	require.Equal(t, 0, countKeys(t, db, "s"))
}

// TestSegmentFilesSwept: segment files whose segments were all trimmed
// or dropped are deleted by a sweep (a new file, a trim or a drop starts
// one), those still named are kept, and what they hold reads back after
// a reopen; only the newest file stays open.
func TestSegmentFilesSwept(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{GCInterval: -1})
	db.segFiles.maxSize = 4 << 10 // about one segment a file
	segFiles := func() int {
		ents, err := os.ReadDir(filepath.Join(dir, "streams"))
		require.NoError(t, err)
		return len(ents)
	}
	put := func(stream string, first uint64) { putSegment(t, db, stream, first) }
	put("keep", 0)
	for i := range 10 {
		put("a", uint64(3*i))
	}
	put("gone", 0)
	require.GreaterOrEqual(t, segFiles(), 12)
	db.segFiles.mu.Lock()
	require.Len(t, db.segFiles.open, 1, "only the newest file stays open")
	db.segFiles.mu.Unlock()
	require.NoError(t, wait(func(d store.Done) { db.Trim("a", 30, d) }))
	require.NoError(t, wait(func(d store.Done) { db.DropStream("gone", d) }))
	put("keep", 3) // a new file: the sweep runs
	require.Eventually(t, func() bool {
		db.sweepSegFiles(0) // unless one runs: the trim's may have begun before the drop
		return segFiles() == 2
	}, 10*time.Second, 10*time.Millisecond,
		"files of trimmed and dropped segments are left")

	require.NoError(t, db.Close())
	db = openT(t, dir, Options{GCInterval: -1})
	offs, data := recordsFrom(t, db, "keep", 0)
	require.Equal(t, []uint64{0, 1, 2, 3, 4, 5}, offs)
	require.True(t, strings.HasPrefix(data[4], "r4."))
	first, next, err := db.StreamBounds("a")
	require.NoError(t, err)
	require.Equal(t, [2]uint64{30, 30}, [2]uint64{first, next})
}

// putSegment writes records first to first+2 of stream, 1,000 bytes each,
// as one segment to a segment file.
func putSegment(t *testing.T, db *DB, stream string, first uint64) {
	t.Helper()
	seg := segmentOf(t, db, first, recs(int(first), 3, 1000))
	var direct bool
	require.NoError(t, wait(func(d store.Done) { direct = db.WriteSegment(stream, seg, d) }))
	require.True(t, direct)
}

// TestRecordsReadOnAfterSweep: a read whose next segment file a sweep
// deleted (its segments trimmed after the read began) goes on from where
// it got to, with the records that are left, and no error.
func TestRecordsReadOnAfterSweep(t *testing.T) {
	db := openT(t, t.TempDir(), Options{GCInterval: -1})
	db.segFiles.maxSize = 4 << 10 // one segment a file
	for _, first := range []uint64{0, 3, 6} {
		putSegment(t, db, "a", first)
	}
	putSegment(t, db, "keep", 0) // the newest file: the others may be swept
	var offs []uint64
	require.NoError(t, db.Records("a", 0, func(off uint64, rec []byte) bool {
		if off == 0 { // the read has the first file open, the second not yet
			require.NoError(t, wait(func(d store.Done) { db.Trim("a", 6, d) }))
			require.NoError(t, db.segFiles.sweep(db.bdb))
			_, err := os.Stat(db.segFiles.path(2))
			require.ErrorIs(t, err, fs.ErrNotExist, "the sweep deleted the second file")
		}
		require.True(t, strings.HasPrefix(string(rec), fmt.Sprintf("r%d.", off)))
		offs = append(offs, off)
		return true
	}))
	require.Equal(t, []uint64{0, 1, 2, 6, 7, 8}, offs, "the first segment was read whole; the second was trimmed")

	// A reference whose file is missing in a new snapshot too is damage.
	require.NoError(t, os.Remove(db.segFiles.path(3)))
	err := db.Records("a", 0, func(uint64, []byte) bool { return true })
	require.ErrorIs(t, err, store.ErrCorrupt)
}

// TestSegmentFileGroupSync: writers on many goroutines (the shards of one
// PutRecords) share the segment file's syncs, and every segment reads
// back after a reopen.
func TestSegmentFileGroupSync(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{GCInterval: -1})
	const streams, each = 8, 25
	var wg sync.WaitGroup
	for w := range streams {
		wg.Go(func() {
			name := fmt.Sprintf("s%d", w)
			for i := range each {
				seg := segmentOf(t, db, uint64(2*i), recs(2*i, 2, 2000))
				var direct bool
				err := wait(func(d store.Done) { direct = db.WriteSegment(name, seg, d) })
				if !assert.NoError(t, err) || !assert.True(t, direct) {
					return
				}
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	syncs := db.segFiles.syncs.Load()
	require.Positive(t, syncs)
	require.LessOrEqual(t, syncs, uint64(streams*each))
	t.Logf("%d segments, %d syncs of their file", streams*each, syncs)
	require.NoError(t, db.Close())
	db = openT(t, dir, Options{GCInterval: -1})
	for w := range streams {
		offs, data := recordsFrom(t, db, fmt.Sprintf("s%d", w), 0)
		require.Len(t, offs, 2*each)
		require.True(t, strings.HasPrefix(data[2*each-1], fmt.Sprintf("r%d.", 2*each-1)))
	}
}
