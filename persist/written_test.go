package persist

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/store"
)

// TestWrittenDefersSync checks the Written barrier and the deferred sync:
// removes that no one waits to be durable for are written (Badger finds
// them gone) but not synced when Written returns (their log pages are
// still dirty), and the next durable batch, or a Flush, syncs them with
// the logs rotated meanwhile.
func TestWrittenDefersSync(t *testing.T) {
	dir, opts, storeDir := smallLogsStore(t)
	opts.syncAfter = time.Hour // no deferred sync in this test: see TestDeferredSyncComes
	db := openT(t, dir, opts)
	body := bytes.Repeat([]byte("s"), 100)
	for s := uint64(1); s <= 5; s++ {
		require.NoError(t, wait(func(d store.Done) { db.Enqueue("q", store.Entry{Seq: s, MsgID: s}, body, d) }))
	}
	require.Empty(t, dirtyLogKiB(t, storeDir))

	// A remove behind Written: written, not synced.
	before := db.Stats()
	db.Remove("q", 1, nil)
	require.NoError(t, db.Written())
	require.Len(t, messages(t, db, "q"), 4, "Written returned before the remove was written")
	require.Equal(t, before.UnsyncedBatches+1, db.Stats().UnsyncedBatches)
	require.NotEmpty(t, dirtyLogKiB(t, storeDir), "a batch no one waited to be durable for was synced")

	// The next durable batch syncs it.
	require.NoError(t, wait(func(d store.Done) { db.Enqueue("q", store.Entry{Seq: 6, MsgID: 6}, body, d) }))
	require.Empty(t, dirtyLogKiB(t, storeDir), "a durable batch left an earlier unsynced write dirty")

	// A Flush after an unsynced write syncs it, though it writes nothing.
	db.Remove("q", 2, nil)
	require.NoError(t, db.Written())
	require.NotEmpty(t, dirtyLogKiB(t, storeDir))
	require.NoError(t, db.Flush())
	require.Empty(t, dirtyLogKiB(t, storeDir), "Flush left an unsynced write dirty")

	// Unsynced lease updates that fill memtable logs (1 MiB each): the
	// durable batch after them syncs the rotated logs as well.
	for s := uint64(100); s < 2100; s++ {
		db.Enqueue("q2", store.Entry{Seq: s, MsgID: s}, body, nil)
	}
	require.NoError(t, db.Flush())
	rotated := db.rotation.synced.Load()
	_, memBefore := newestLogs(t, storeDir)
	for round := range 30 {
		for s := uint64(100); s < 2100; s++ {
			db.Update("q2", store.Entry{Seq: s, DeliveryCount: uint32(round + 1), NotBefore: int64(round)}, nil)
		}
		require.NoError(t, db.Written())
	}
	require.Equal(t, rotated, db.rotation.synced.Load(), "an unsynced batch synced a rotated log")
	_, memAfter := newestLogs(t, storeDir)
	require.Greater(t, memAfter, memBefore, "the updates rotated no memtable log")
	require.NoError(t, wait(func(d store.Done) { db.Enqueue("q", store.Entry{Seq: 7, MsgID: 7}, body, d) }))
	require.Empty(t, dirtyLogKiB(t, storeDir), "a durable batch left a rotated unsynced log dirty")
	db.rotation.mu.Lock()
	require.Equal(t, memAfter, db.rotation.mem, "the durable batch did not follow the rotated logs")
	db.rotation.mu.Unlock()
	require.Zero(t, db.Stats().DeferredSyncs)

	require.NoError(t, db.Close())
	db = openT(t, dir, opts)
	require.Len(t, messages(t, db, "q"), 5)
}

// TestDeferredSyncComes: a write no one waits to be durable for, and no
// durable batch after it, is synced by the writer within syncAfter.
func TestDeferredSyncComes(t *testing.T) {
	dir, opts, storeDir := smallLogsStore(t)
	opts.syncAfter = 20 * time.Millisecond
	db := openT(t, dir, opts)
	require.NoError(t, wait(func(d store.Done) { db.Enqueue("q", store.Entry{Seq: 1, MsgID: 1}, []byte("m"), d) }))
	db.Remove("q", 1, nil)
	require.NoError(t, db.Written())
	require.Eventually(t, func() bool {
		return db.Stats().DeferredSyncs == 1 && len(dirtyLogKiB(t, storeDir)) == 0
	}, 10*time.Second, 5*time.Millisecond, "the unsynced write was never synced")
	require.Empty(t, messages(t, db, "q"))
}
