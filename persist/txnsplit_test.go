package persist

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/store"
)

// A batch larger than one Badger transaction may hold (15% of the memtable
// size) is written in several and synced once; all of it is confirmed
// and a restart finds all of it.
func TestBatchBeyondOneTransaction(t *testing.T) {
	dir := t.TempDir()
	opts := Options{GCInterval: -1, MemTableSize: 1 << 20} // transactions of ~150 KiB
	db := openT(t, dir, opts)

	// Hold the writer so that everything below is one batch of ~600 KiB.
	db.writeMu.Lock()
	held := make(chan error, 1)
	db.Enqueue("other", store.Entry{Seq: 1, MsgID: 1 << 40}, []byte("o"), func(err error) { held <- err })
	waitTaken(t, db)
	const n = 600
	body := bytes.Repeat([]byte("b"), 1000)
	done := make(chan error, n)
	for seq := uint64(1); seq <= n; seq++ {
		db.Enqueue("q", store.Entry{Seq: seq, MsgID: seq}, body, func(err error) { done <- err })
	}
	db.writeMu.Unlock()
	require.NoError(t, <-held)
	for range n {
		require.NoError(t, <-done)
	}
	require.Len(t, messages(t, db, "q"), n)
	require.NoError(t, db.Close())
	require.Len(t, messages(t, openT(t, dir, opts), "q"), n)
}
