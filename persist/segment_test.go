package persist

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/store"
)

// recordsFrom reads stream s from offset from: offsets and data.
func recordsFrom(t *testing.T, db *DB, s string, from uint64) ([]uint64, []string) {
	t.Helper()
	var offs []uint64
	var data []string
	require.NoError(t, db.Records(s, from, func(off uint64, rec []byte) bool {
		offs = append(offs, off)
		data = append(data, string(rec))
		return true
	}))
	return offs, data
}

func recs(from, n int, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		r := fmt.Appendf(nil, "r%d.", from+i)
		for len(r) < size {
			r = append(r, '.')
		}
		out[i] = r
	}
	return out
}

// TestStreamSegments: a batch is one key; reads seek into a batch; trim
// keeps a segment it straddles and reports its mark as the first
// offset; single appends and batches mix; a batch past segMaxBytes is
// cut into several segments, durable together.
func TestStreamSegments(t *testing.T) {
	for _, mem := range []bool{false, true} {
		t.Run(fmt.Sprintf("inmemory=%v", mem), func(t *testing.T) {
			dir := ""
			if !mem {
				dir = t.TempDir()
			}
			db := openT(t, dir, Options{InMemory: mem, GCInterval: -1})
			db.Append("s", 0, []byte("r0"), nil)
			require.NoError(t, wait(func(d store.Done) { db.AppendBatch("s", 1, [][]byte{[]byte("r1"), []byte(""), []byte("r3")}, d) }))
			require.NoError(t, wait(func(d store.Done) { db.AppendBatch("s", 4, [][]byte{[]byte("r4"), []byte("r5")}, d) }))
			require.Equal(t, 3, countKeys(t, db, "s"))

			offs, data := recordsFrom(t, db, "s", 2)
			require.Equal(t, []uint64{2, 3, 4, 5}, offs)
			require.Equal(t, []string{"", "r3", "r4", "r5"}, data)
			var one []uint64
			require.NoError(t, db.Records("s", 1, func(off uint64, _ []byte) bool { one = append(one, off); return len(one) < 2 }))
			require.Equal(t, []uint64{1, 2}, one)
			first, next, err := db.StreamBounds("s")
			require.NoError(t, err)
			require.Equal(t, [2]uint64{0, 6}, [2]uint64{first, next})

			require.NoError(t, wait(func(d store.Done) { db.Trim("s", 2, d) }))
			first, next, err = db.StreamBounds("s")
			require.NoError(t, err)
			require.Equal(t, [2]uint64{2, 6}, [2]uint64{first, next})
			require.Equal(t, 2, countKeys(t, db, "s")) // [1,3] straddles 2 and stays
			require.NoError(t, wait(func(d store.Done) { db.Trim("s", 4, d) }))
			require.Equal(t, 1, countKeys(t, db, "s"))
			offs, _ = recordsFrom(t, db, "s", 0)
			require.Equal(t, []uint64{4, 5}, offs)

			// 3 MiB in one batch: several segments, one Done.
			big := recs(6, 3000, 1024)
			require.NoError(t, wait(func(d store.Done) { db.AppendBatch("s", 6, big, d) }))
			require.Greater(t, countKeys(t, db, "s"), 3)
			offs, data = recordsFrom(t, db, "s", 2500)
			require.Len(t, offs, 3006-2500)
			require.Equal(t, uint64(2500), offs[0])
			require.Equal(t, string(big[2500-6]), data[0])
			require.Equal(t, string(big[len(big)-1]), data[len(data)-1])
			first, next, err = db.StreamBounds("s")
			require.NoError(t, err)
			require.Equal(t, [2]uint64{4, 3006}, [2]uint64{first, next})
		})
	}
}

// TestStreamSegmentsRecover: segments survive a reopen; a stream never
// trimmed starts at its first segment's first record.
func TestStreamSegmentsRecover(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{Logger: quiet, GCInterval: -1})
	require.NoError(t, err)
	require.NoError(t, wait(func(d store.Done) { db.AppendBatch("s", 10, recs(10, 5, 4), d) }))
	require.NoError(t, db.Close())
	db = openT(t, dir, Options{GCInterval: -1})
	first, next, err := db.StreamBounds("s")
	require.NoError(t, err)
	require.Equal(t, [2]uint64{10, 15}, [2]uint64{first, next})
	offs, _ := recordsFrom(t, db, "s", 12)
	require.Equal(t, []uint64{12, 13, 14}, offs)
}

// TestMigrateStreamsV1: a format-1 store (one key per record under
// "r/", a trim mark) opens as format 2 with the same records and
// bounds, and a second migration run (a crash midway) changes nothing.
func TestMigrateStreamsV1(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{Logger: quiet, GCInterval: -1})
	require.NoError(t, err)
	err = db.bdb.Update(func(txn *badger.Txn) error {
		for name, from := range map[string]uint64{"a": 5, "b\x00c": 3} {
			for off := from; off < 8; off++ {
				k := binary.BigEndian.AppendUint64(namePrefix(prefixRecordV1, name), off)
				if err := txn.Set(k, fmt.Appendf(nil, "%s-%d", name, off)); err != nil {
					return err
				}
			}
		}
		return txn.Set(namePrefix(prefixRecordV1, "a"), binary.BigEndian.AppendUint64(nil, 5)) // trimmed below 5
	})
	require.NoError(t, err)
	require.NoError(t, writeFormat(db.bdb, 1))
	require.NoError(t, db.Close())

	db = openT(t, dir, Options{GCInterval: -1})
	v, _, err := readFormat(db.bdb)
	require.NoError(t, err)
	require.Equal(t, uint32(FormatVersion), v)
	require.NoError(t, migrateStreamsV1(db.bdb)) // idempotent
	for name, want := range map[string][2]uint64{"a": {5, 8}, "b\x00c": {3, 8}} {
		first, next, err := db.StreamBounds(name)
		require.NoError(t, err)
		require.Equal(t, want, [2]uint64{first, next}, name)
		offs, data := recordsFrom(t, db, name, first)
		require.Len(t, offs, int(want[1]-want[0]))
		require.Equal(t, fmt.Sprintf("%s-%d", name, want[0]), data[0])
	}
	n := 0
	require.NoError(t, db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixRecordV1)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	}))
	require.Zero(t, n, "keys left under the format-1 prefix")
	require.NoError(t, wait(func(d store.Done) { db.AppendBatch("a", 8, recs(8, 2, 1), d) }))
	offs, _ := recordsFrom(t, db, "a", 0)
	require.Equal(t, []uint64{5, 6, 7, 8, 9}, offs)
}

// TestSegmentCorrupt: a damaged segment is reported as corruption.
func TestSegmentCorrupt(t *testing.T) {
	seg := encodeSegment(4, [][]byte{[]byte("ab"), []byte("c")})
	s, err := parseSegment(5, seg)
	require.NoError(t, err)
	require.Equal(t, uint64(4), s.first)
	for name, bad := range map[string][]byte{
		"empty":     nil,
		"version":   append([]byte{9}, seg[1:]...),
		"last":      seg, // parsed at the wrong key below
		"truncated": seg[:len(seg)-1],
	} {
		last := uint64(5)
		if name == "last" {
			last = 6
		}
		_, err := parseSegment(last, bad)
		require.ErrorIs(t, err, store.ErrCorrupt, name)
	}
}

func countKeys(t *testing.T, db *DB, s string) int {
	t.Helper()
	prefix := namePrefix(prefixRecord, s)
	n := 0
	require.NoError(t, db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if len(it.Item().Key()) == len(prefix)+8 {
				n++
			}
		}
		return nil
	}))
	return n
}
