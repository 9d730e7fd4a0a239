package persist

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/store"
	"github.com/stretchr/testify/require"
)

// A Remove that meets its Enqueue while the Enqueue still waits for the
// writer cancels it: the Enqueue's Done is called at once, before any
// sync, and neither the entry nor its body ever reaches the disk. An
// Enqueue the writer has already taken is not cancelled: its Remove is a
// delete in the next batch.
func TestCancelEarly(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{})

	// Hold the writer inside its next commit: it takes the pending slice,
	// then blocks on writeMu before writing.
	db.writeMu.Lock()
	taken := make(chan error, 1)
	db.Enqueue("q", store.Entry{Seq: 1, MsgID: 1}, []byte("one"), func(err error) { taken <- err })
	waitTaken(t, db)

	early := make(chan error, 1)
	db.Enqueue("q", store.Entry{Seq: 2, MsgID: 2}, []byte("two"), func(err error) { early <- err })
	db.Enqueue("q", store.Entry{Seq: 3, MsgID: 3}, []byte("three"), nil)
	db.Remove("q", 2, nil)
	db.Remove("q", 1, nil) // taken already: not cancelled

	// The cancelled enqueue is confirmed while the writer is still held.
	select {
	case err := <-early:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled enqueue was not confirmed while the writer was busy")
	}
	select {
	case <-taken:
		t.Fatal("the taken enqueue was confirmed before its commit")
	default:
	}
	db.writeMu.Unlock()
	require.NoError(t, <-taken)
	require.NoError(t, db.Flush())

	st := db.Stats()
	require.EqualValues(t, 1, st.CancelledEarly)
	require.EqualValues(t, 1, st.CancelledPairs)
	g := messages(t, db, "q")
	require.Len(t, g, 1)
	require.EqualValues(t, 3, g[0].e.Seq)
	require.Equal(t, "three", g[0].data)
	for _, id := range []uint64{1, 2} {
		_, err := db.bdb.NewTransaction(false).Get(msgKey(id))
		require.True(t, errors.Is(err, badger.ErrKeyNotFound), "body %d: %v", id, err)
	}

	require.NoError(t, db.Close())
	db = openT(t, dir, Options{})
	g = messages(t, db, "q")
	require.Len(t, g, 1)
	require.EqualValues(t, 3, g[0].e.Seq)
}

// Close calls the Done of an enqueue cancelled just before it.
func TestCancelEarlyAtClose(t *testing.T) {
	db := openT(t, t.TempDir(), Options{})
	db.writeMu.Lock()
	db.Enqueue("q", store.Entry{Seq: 1, MsgID: 1}, []byte("one"), nil)
	waitTaken(t, db)
	done := make(chan error, 1)
	db.Enqueue("q", store.Entry{Seq: 2, MsgID: 2}, []byte("two"), func(err error) { done <- err })
	db.Remove("q", 2, nil)
	db.writeMu.Unlock()
	require.NoError(t, db.Close())
	require.NoError(t, <-done)
}

// Once consumers have acknowledged an enqueue before the disk, the writer
// holds the next batch someone waits for back for AckLinger, so that an
// acknowledgement arriving meanwhile cancels it too: its Done is called
// and nothing is written. (AckLinger is an hour here, so the writer
// provably did not commit; Close commits what is left.)
func TestAckLinger(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{AckLinger: time.Hour})
	primeAcking(t, db)
	batches := db.Stats().Batches

	// A waited-for enqueue now lingers instead of being committed at once,
	// and its acknowledgement cancels it.
	done := make(chan error, 1)
	db.Enqueue("q", store.Entry{Seq: 3, MsgID: 3}, []byte("three"), func(err error) { done <- err })
	db.Remove("q", 3, nil)
	require.NoError(t, <-done)
	require.EqualValues(t, 2, db.Stats().CancelledEarly)
	require.Equal(t, batches, db.Stats().Batches, "the writer committed instead of lingering")

	require.NoError(t, db.Close())
	db = openT(t, dir, Options{})
	g := messages(t, db, "q")
	require.Len(t, g, 1)
	require.EqualValues(t, 1, g[0].e.Seq)
}

// waitTaken waits until the writer has taken every pending op.
func waitTaken(t *testing.T, db *DB) {
	t.Helper()
	require.Eventually(t, func() bool {
		db.mu.Lock()
		defer db.mu.Unlock()
		return len(db.pending) == 0
	}, 10*time.Second, time.Millisecond, "the writer never took the pending ops")
}

// While consumers ack early, a batch cut takes only the ops before the
// first enqueue younger than AckLinger: the enqueue stays pending across
// the commit, and its acknowledgement still cancels it. (AckLinger is an
// hour here; the Remove before the enqueue has no waiter, so the writer
// cuts after lingerFor.)
func TestYoungEnqueueSurvivesCut(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{AckLinger: time.Hour})
	primeAcking(t, db)
	batches := db.Stats().Batches

	db.Remove("q", 1, nil)
	db.Enqueue("q", store.Entry{Seq: 3, MsgID: 3}, []byte("three"), nil)
	require.Eventually(t, func() bool { return db.Stats().Batches == batches+1 }, 10*time.Second, time.Millisecond,
		"the writer never committed the Remove")
	db.mu.Lock()
	pending := append([]op(nil), db.pending...)
	_, indexed := db.pendEnq[entryRef{"q", 3}]
	db.mu.Unlock()
	require.Len(t, pending, 1, "the young enqueue was taken with the Remove")
	require.Equal(t, opEnqueue, pending[0].kind)
	require.True(t, indexed)

	db.Remove("q", 3, nil)
	require.EqualValues(t, 2, db.Stats().CancelledEarly)
	require.NoError(t, db.Close())
	db = openT(t, dir, Options{})
	require.Empty(t, messages(t, db, "q"))
	_, err := db.bdb.NewTransaction(false).Get(msgKey(3))
	require.True(t, errors.Is(err, badger.ErrKeyNotFound), "body 3: %v", err)
}

// An enqueue that no acknowledgement cancels is written once it is
// AckLinger old, confirmed after its sync, and survives a reopen; the
// enqueues behind it keep their order.
func TestAckLingerWritesUnacked(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{AckLinger: 20 * time.Millisecond})
	primeAcking(t, db)

	done := make(chan error, 3)
	for seq := uint64(3); seq <= 5; seq++ {
		db.Enqueue("q", store.Entry{Seq: seq, MsgID: seq}, []byte{byte(seq)}, func(err error) { done <- err })
	}
	db.Remove("q", 4, nil)
	for range 3 {
		require.NoError(t, <-done)
	}
	require.NoError(t, db.Close())
	db = openT(t, dir, Options{})
	g := messages(t, db, "q")
	require.Len(t, g, 3)
	for i, seq := range []uint64{1, 3, 5} {
		require.EqualValues(t, seq, g[i].e.Seq)
	}
}

// primeAcking makes the writer see an early cancel (entry 2) and commit
// entry 1, so that it holds young enqueues back from then on.
func primeAcking(t *testing.T, db *DB) {
	t.Helper()
	// An early cancel while the writer is held in a commit.
	db.writeMu.Lock()
	db.Enqueue("q", store.Entry{Seq: 1, MsgID: 1}, []byte("one"), nil)
	waitTaken(t, db)
	db.Enqueue("q", store.Entry{Seq: 2, MsgID: 2}, []byte("two"), nil)
	db.Remove("q", 2, nil)
	db.writeMu.Unlock()
	require.EqualValues(t, 1, db.Stats().CancelledEarly)
	// The writer commits the batch holding the Remove (no waiter: after
	// the usual lingerFor), its second, and so learns that consumers ack
	// early.
	require.Eventually(t, func() bool { return db.Stats().Batches == 2 }, 10*time.Second, time.Millisecond)
}

// EnqueueMessage stores the message as Enqueue of its encoding would, the
// body once for several queues, small and large bodies alike; an
// EnqueueMessage that a Remove cancels before the disk writes nothing.
func TestEnqueueMessage(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{})
	small := &message.Message{ID: 1, Exchange: "x", RoutingKey: "k", Body: []byte("small"),
		Props: message.Properties{Flags: message.FlagDeliveryMode, DeliveryMode: 2}}
	large := &message.Message{ID: 2, RoutingKey: "k", Body: bytes.Repeat([]byte{7}, 3*smallEncoded)}
	gone := &message.Message{ID: 3, Body: []byte("gone")}
	db.writeMu.Lock() // hold the writer so that the Remove meets its enqueue
	db.Enqueue("hold", store.Entry{Seq: 1, MsgID: 100}, []byte("hold"), nil)
	waitTaken(t, db)
	db.EnqueueMessage("q1", store.Entry{Seq: 1, MsgID: 1}, small, nil)
	db.EnqueueMessage("q2", store.Entry{Seq: 1, MsgID: 1}, small, nil)
	db.EnqueueMessage("q1", store.Entry{Seq: 2, MsgID: 2}, large, nil)
	db.EnqueueMessage("q1", store.Entry{Seq: 3, MsgID: 3}, gone, nil)
	db.Remove("q1", 3, nil)
	db.writeMu.Unlock()
	require.NoError(t, db.Flush())
	require.NoError(t, db.Close())

	db = openT(t, dir, Options{})
	g := messages(t, db, "q1")
	require.Len(t, g, 2)
	require.Equal(t, string(message.Marshal(nil, small)), g[0].data)
	require.Equal(t, string(message.Marshal(nil, large)), g[1].data)
	g = messages(t, db, "q2")
	require.Len(t, g, 1)
	require.Equal(t, string(message.Marshal(nil, small)), g[0].data)
	_, err := db.bdb.NewTransaction(false).Get(msgKey(3))
	require.True(t, errors.Is(err, badger.ErrKeyNotFound), "body 3: %v", err)
}
