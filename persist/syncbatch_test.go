package persist

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/store"
)

// dirtyLogKiB sums the dirty pages of this process's mappings of Badger's
// logs (.vlog, .mem) under dir, from /proc/self/smaps: after a sync of a
// file its pages are clean (written back and write-protected again), so a
// dirty page is data a power loss could lose.
func dirtyLogKiB(t *testing.T, dir string) map[string]int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	defer f.Close()
	out := map[string]int{}
	cur := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && !strings.HasSuffix(fields[0], ":") { // a mapping's header line
			cur = ""
			path := strings.Join(fields[5:], " ")
			if strings.HasPrefix(path, dir) && (strings.HasSuffix(path, ".vlog") || strings.HasSuffix(path, ".mem")) {
				cur = filepath.Base(path)
			}
			continue
		}
		if cur != "" && len(fields) == 3 && (fields[0] == "Shared_Dirty:" || fields[0] == "Private_Dirty:") {
			kb, err := strconv.Atoi(fields[1])
			require.NoError(t, err)
			out[cur] += kb
		}
	}
	require.NoError(t, sc.Err())
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

// TestBatchSyncValueLogOnlyWhenWritten checks the writer's sync rule: a
// batch whose values all stay under the value threshold syncs the memtable
// log only, one that puts a value in the value log syncs that too, and a
// value-log GC rewrite (which writes the log without syncing it) makes the
// next batch sync it even if the batch itself wrote nothing there. After
// every confirmed batch, no page of any log mapping may be dirty, and a
// restart finds every message.
func TestBatchSyncValueLogOnlyWhenWritten(t *testing.T) {
	dir, opts, storeDir := smallLogsStore(t)
	db := openT(t, dir, opts)
	small := bytes.Repeat([]byte("s"), 255) // just under the threshold: stays in the tree
	large := bytes.Repeat([]byte("L"), 256) // at it: goes to the value log
	seq := uint64(0)
	enqueue := func(body []byte) {
		t.Helper()
		seq++
		s := seq
		require.NoError(t, wait(func(d store.Done) { db.Enqueue("q", store.Entry{Seq: s, MsgID: s}, body, d) }))
		require.Empty(t, dirtyLogKiB(t, storeDir), "after write %d: log pages left dirty", s)
	}

	// Badger may have written the value log at open: the first batch
	// syncs it, whatever it holds.
	before := db.rotation.vlogSyncs.Load()
	enqueue(small)
	require.Equal(t, before+1, db.rotation.vlogSyncs.Load(), "the first batch did not sync the value log")
	before = db.rotation.vlogSyncs.Load()
	for range 200 {
		enqueue(small)
	}
	require.Equal(t, before, db.rotation.vlogSyncs.Load(), "batches of small values synced the value log")

	for i := range 200 {
		before = db.rotation.vlogSyncs.Load()
		if i%3 == 0 {
			enqueue(large)
			require.Equal(t, before+1, db.rotation.vlogSyncs.Load(), "a batch that wrote the value log did not sync it")
		} else {
			enqueue(small)
			require.Equal(t, before, db.rotation.vlogSyncs.Load(), "a batch of small values synced the value log")
		}
	}

	// Value-log GC may move live values to the log's head without syncing
	// them: the next batch, small as it is, syncs the value log.
	first := seq + 1
	for range 300 {
		enqueue(large)
	}
	for s := first; s <= seq; s++ {
		if s%10 != 0 {
			db.Remove("q", s, nil)
		}
	}
	require.NoError(t, db.Flush())
	require.NoError(t, db.RunGC())
	before = db.rotation.vlogSyncs.Load()
	enqueue(small)
	require.Equal(t, before+1, db.rotation.vlogSyncs.Load(), "the batch after a value-log GC did not sync the value log")
	before = db.rotation.vlogSyncs.Load()
	enqueue(small)
	require.Equal(t, before, db.rotation.vlogSyncs.Load(), "the value log was synced again with nothing new in it")

	want := len(messages(t, db, "q"))
	require.NoError(t, db.Close())
	db = openT(t, dir, opts)
	require.Len(t, messages(t, db, "q"), want)
}

// smallLogsStore is the set-up of the sync-rule tests, which read
// /proc/self/smaps (Linux only): a store directory, options with small
// logs (1 MiB value-log files and memtables, GC off, values of 256 B and
// more to the value log) and Badger's directory inside it.
func smallLogsStore(t *testing.T) (dir string, opts Options, storeDir string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/smaps")
	}
	dir = t.TempDir()
	opts = Options{GCInterval: -1, ValueLogFileSize: 1 << 20, ValueThreshold: 256, MemTableSize: 1 << 20}
	return dir, opts, filepath.Join(dir, "store")
}
