package persist

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/store"
)

// An Update followed by a Remove of the same entry in one batch (a receive
// then a delete, a delivery then an ack) writes only the delete; two
// Updates of one entry in one batch write the last. What a restart finds
// is what writing every op in order would have left.
func TestUpdateSupersededInBatch(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{GCInterval: -1})
	for seq := uint64(1); seq <= 3; seq++ {
		require.NoError(t, wait(func(d store.Done) { db.Enqueue("q", store.Entry{Seq: seq, MsgID: seq}, []byte("m"), d) }))
	}

	// Hold the writer inside a commit so that what follows is one batch.
	db.writeMu.Lock()
	held := make(chan error, 1)
	db.Enqueue("other", store.Entry{Seq: 1, MsgID: 9}, []byte("o"), func(err error) { held <- err })
	waitTaken(t, db)

	db.Update("q", store.Entry{Seq: 1, DeliveryCount: 1, NotBefore: 5}, nil) // then removed
	db.Update("q", store.Entry{Seq: 2, DeliveryCount: 1, NotBefore: 6}, nil) // then updated again
	db.Update("q", store.Entry{Seq: 3, DeliveryCount: 1, NotBefore: 7}, nil) // alone
	db.Update("q", store.Entry{Seq: 2, DeliveryCount: 2, NotBefore: 8}, nil)
	removed := make(chan error, 1)
	db.Remove("q", 1, func(err error) { removed <- err })
	db.writeMu.Unlock()
	require.NoError(t, <-held)
	require.NoError(t, <-removed)
	require.EqualValues(t, 1, db.Stats().SupersededUpdates)

	check := func(db *DB) {
		t.Helper()
		g := messages(t, db, "q")
		require.Len(t, g, 2)
		require.EqualValues(t, 2, g[0].e.Seq)
		require.EqualValues(t, 2, g[0].e.DeliveryCount)
		require.EqualValues(t, 8, g[0].e.NotBefore)
		require.EqualValues(t, 3, g[1].e.Seq)
		require.EqualValues(t, 1, g[1].e.DeliveryCount)
		require.EqualValues(t, 7, g[1].e.NotBefore)
	}
	check(db)
	require.NoError(t, db.Close())
	check(openT(t, dir, Options{GCInterval: -1}))
}
