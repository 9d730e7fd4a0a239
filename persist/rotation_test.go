package persist

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/store"
)

// TestRotatedLogsSynced writes enough through small value-log files and
// memtables that Badger moves to new files many times, and checks that
// every file left behind was synced before the batch that filled it was
// confirmed: after each confirmed write the known newest ids are the
// directory's newest, and a restart finds every message.
func TestRotatedLogsSynced(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{GCInterval: -1, ValueLogFileSize: 1 << 20, ValueThreshold: 256, MemTableSize: 1 << 20})
	body := bytes.Repeat([]byte("v"), 4<<10)
	const n = 1500 // ~6 MiB of values, ~6 value-log files
	for i := range n {
		seq := uint64(i + 1)
		require.NoError(t, wait(func(d store.Done) { db.Enqueue("q", store.Entry{Seq: seq, MsgID: seq}, body, d) }))
		vlog, mem := newestLogs(t, filepath.Join(dir, "store"))
		db.rotation.mu.Lock()
		require.Equal(t, vlog, db.rotation.vlog, "after write %d: a value-log file was replaced and not synced", i)
		require.Equal(t, mem, db.rotation.mem, "after write %d: a memtable log was replaced and not synced", i)
		db.rotation.mu.Unlock()
	}
	require.GreaterOrEqual(t, db.rotation.synced.Load(), uint64(4), "the test did not make Badger rotate its logs")
	require.NoError(t, db.Close())

	db = openT(t, dir, Options{GCInterval: -1, ValueLogFileSize: 1 << 20, ValueThreshold: 256, MemTableSize: 1 << 20})
	require.Len(t, messages(t, db, "q"), n)
}

func newestLogs(t *testing.T, dir string) (vlog, mem int) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		if id, ok := logID(e.Name(), ".vlog"); ok && id > vlog {
			vlog = id
		}
		if id, ok := logID(e.Name(), ".mem"); ok && id > mem {
			mem = id
		}
	}
	return vlog, mem
}
