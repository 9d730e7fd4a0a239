package persist

import (
	"testing"
	"time"

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
	require.NoError(t, db.Flush()) // the updates the writer may still hold (holdUpdates)
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

// pendingUpdates counts the lease updates pending in db (held back by the
// writer's cuts, see holdUpdates).
func pendingUpdates(db *DB) int {
	db.mu.Lock()
	defer db.mu.Unlock()
	n := 0
	for _, o := range db.pending {
		if o.kind == opUpdate {
			n++
		}
	}
	return n
}

// TestUpdateHeldForDelete: a lease update no one waits for is held back
// across batch cuts (here for an hour), so that the delete that follows
// it in a later batch supersedes it (and it is not held past that batch);
// a Written barrier does not wait for it, a Flush writes it, an update naming another message than the
// entry's is not applied; and with the default hold a lone update is
// written within it.
func TestUpdateHeldForDelete(t *testing.T) {
	dir := t.TempDir()
	opts := Options{GCInterval: -1, updateHold: time.Hour}
	db := openT(t, dir, opts)
	for seq := uint64(1); seq <= 3; seq++ {
		require.NoError(t, wait(func(d store.Done) { db.Enqueue("q", store.Entry{Seq: seq, MsgID: seq}, []byte("m"), d) }))
	}

	db.Update("q", store.Entry{Seq: 1, MsgID: 1, DeliveryCount: 1, NotBefore: 5}, nil)
	require.NoError(t, wait(func(d store.Done) { db.Enqueue("q", store.Entry{Seq: 4, MsgID: 4}, []byte("m"), d) }))
	require.Equal(t, 1, pendingUpdates(db), "a batch cut wrote a young lease update")

	before := db.Stats().SupersededUpdates
	db.Remove("q", 1, nil)
	require.NoError(t, db.Written())
	require.Len(t, messages(t, db, "q"), 3, "Written returned before the delete was written")
	require.Zero(t, pendingUpdates(db), "a lease update was held past the delete of its entry")
	require.Equal(t, before+1, db.Stats().SupersededUpdates, "the delete did not supersede the held update")

	db.Update("q", store.Entry{Seq: 2, MsgID: 2, DeliveryCount: 1, NotBefore: 6}, nil)
	db.Update("q", store.Entry{Seq: 3, MsgID: 99, DeliveryCount: 7, NotBefore: 7}, nil) // another message's
	require.NoError(t, db.Written())
	require.Equal(t, 2, pendingUpdates(db), "Written waited for held lease updates")
	require.NoError(t, db.Flush())
	require.Zero(t, pendingUpdates(db), "Flush left a lease update pending")
	g := messages(t, db, "q")
	require.Len(t, g, 3)
	require.EqualValues(t, 1, g[0].e.DeliveryCount)
	require.EqualValues(t, 6, g[0].e.NotBefore)
	require.Zero(t, g[1].e.DeliveryCount, "an update naming another message was applied")
	require.NoError(t, db.Close())

	db = openT(t, dir, Options{GCInterval: -1})
	db.Update("q", store.Entry{Seq: 4, MsgID: 4, DeliveryCount: 2}, nil)
	require.Eventually(t, func() bool {
		g := messages(t, db, "q")
		return len(g) == 3 && g[2].e.DeliveryCount == 2
	}, 10*time.Second, time.Millisecond, "a held lease update was never written")
}
