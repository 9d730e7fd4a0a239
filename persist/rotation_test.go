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

// TestRotationWatchLooksOnlyAfterACreation checks that a sync looks for
// new log files (a stat per log kind) only when a file was created in
// the directory since the last look, and that it then follows a new
// memtable log, whether created or moved into place.
func TestRotationWatchLooksOnlyAfterACreation(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("log"), 0o644))
	}
	write("000001.vlog")
	write("00001.mem")
	var r rotationSync
	require.NoError(t, r.open(dir))
	defer r.close()
	if r.watch == nil {
		t.Skip("inotify is not available here: every sync looks")
	}
	require.NoError(t, r.syncCurrent(false))
	require.Equal(t, uint64(1), r.lookups.Load(), "the first sync did not look")
	for range 3 {
		require.NoError(t, r.syncCurrent(true))
	}
	require.Equal(t, uint64(1), r.lookups.Load(), "syncs looked with no file created")

	write("00002.mem")
	require.NoError(t, r.syncCurrent(false))
	require.Equal(t, uint64(2), r.lookups.Load())
	require.Equal(t, 2, r.mem, "the new memtable log was not followed")
	require.Equal(t, uint64(1), r.synced.Load(), "the replaced memtable log was not synced")

	write("tmp")
	require.NoError(t, os.Rename(filepath.Join(dir, "tmp"), filepath.Join(dir, "000002.vlog")))
	require.NoError(t, r.syncRotated())
	require.Equal(t, uint64(3), r.lookups.Load(), "a file moved into place was not seen")
	require.Equal(t, 2, r.vlog, "the new value-log file was not followed")
	require.NoError(t, r.syncCurrent(false))
	require.Equal(t, uint64(3), r.lookups.Load())

	// A memtable log created and flushed away between two looks leaves a
	// gap in the ids: the walk goes past it to the newest.
	write("00004.mem")
	synced := r.synced.Load()
	require.NoError(t, r.syncCurrent(false))
	require.Equal(t, 4, r.mem, "a gap in the memtable log ids stopped the walk")
	require.Equal(t, synced+1, r.synced.Load(), "the replaced memtable log 2 was not synced")
}
