package core

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/persist"
	"github.com/stretchr/testify/require"
)

// heapAlloc is the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// publishNumbered publishes n transient messages to queue name by the
// default exchange, numbered from first, each with a body of size bytes,
// a message id and a header.
func publishNumbered(t testing.TB, v *Vhost, name string, first, n, size int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		m := &message.Message{RoutingKey: name, Body: fmt.Appendf(make([]byte, 0, size), "%0*d", size, i)}
		m.Props.MessageID = fmt.Sprint("id-", i)
		m.Props.Headers = message.Table{{Key: "i", Value: int64(i)}}
		m.Props.Flags |= message.FlagMessageID | message.FlagHeaders
		routed, err := v.Publish(m, nil)
		require.NoError(t, err)
		require.True(t, routed)
	}
}

// waitPaged polls until the queue has paged out want messages.
func waitPaged(t testing.TB, q *queue.Queue, want int) {
	t.Helper()
	require.Eventually(t, func() bool { return q.Stats().PagedOut == want }, time.Minute, 10*time.Millisecond,
		"PagedOut %d, want %d", q.Stats().PagedOut, want)
}

// openSmallMemtable is openBroker with a 4 MiB Badger memtable, so that
// Badger's own buffers do not hide how much the queue frees.
func openSmallMemtable(t testing.TB, dir string) (*Broker, *persist.DB) {
	t.Helper()
	st, err := persist.Open(dir, persist.Options{GCInterval: -1, MemTableSize: 4 << 20})
	require.NoError(t, err)
	b, err := Open(Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(dir, "auth.key")}})
	require.NoError(t, err)
	return b, st
}

// Under memory pressure a queue of 100k transient messages pages their
// bodies out to the real store, the heap shrinks, every message comes
// back in order, and after a restart no paged message comes back.
func TestMemoryPressurePagesOut(t *testing.T) {
	const n, size = 100_000, 256
	dir := t.TempDir()
	b, st := openSmallMemtable(t, dir)
	v, _ := b.Vhost("/")
	q, _, err := v.DeclareQueue(QueueDecl{Name: "big", Durable: true})
	require.NoError(t, err)
	publishNumbered(t, v, "big", 0, n, size)
	before := heapAlloc()

	b.SetMemoryPressure(true)
	waitPaged(t, q, n-pageKeep)
	s := q.Stats()
	require.LessOrEqual(t, s.MemoryBytes(), pageKeep*size)
	require.Equal(t, n*size, s.Bytes)
	// Badger holds the pages in its memtable until it flushes it to a
	// table (in the background): wait for that.
	var after uint64
	require.Eventually(t, func() bool {
		after = heapAlloc()
		return after < before-uint64(n*size)
	}, 30*time.Second, 100*time.Millisecond, "heap did not shrink: %d MB → %d MB", before>>20, after>>20)
	t.Logf("heap %d MB → %d MB", before>>20, after>>20)

	for i := range n { // the pager keeps walking meanwhile
		d, ok := q.Get(false)
		require.True(t, ok, "Get %d", i)
		hv, _ := d.Msg.Props.Headers.Get("i")
		if string(d.Msg.Body) != fmt.Sprintf("%0*d", size, i) || d.Msg.Props.MessageID != fmt.Sprint("id-", i) || hv != int64(i) {
			t.Fatalf("delivery %d: id %q header %v body %.20q", i, d.Msg.Props.MessageID, hv, d.Msg.Body)
		}
		require.NoError(t, q.Ack(d.Seq))
	}
	require.Equal(t, queue.Stats{}, q.Stats())

	publishNumbered(t, v, "big", 0, 3000, size)
	p := &message.Message{RoutingKey: "big", Body: []byte("persistent")}
	p.Props.DeliveryMode, p.Props.Flags = 2, message.FlagDeliveryMode
	_, err = v.Publish(p, nil)
	require.NoError(t, err)
	waitPaged(t, q, 3000-pageKeep) // the persistent message is in the store already
	b.SetMemoryPressure(false)
	closeBroker(t, b, st)

	b, st = openSmallMemtable(t, dir)
	defer closeBroker(t, b, st)
	v, _ = b.Vhost("/")
	q, err = v.Queue("big")
	require.NoError(t, err)
	require.Equal(t, 1, q.Stats().Ready, "only the persistent message survives a restart")
	d, ok := q.Get(true)
	require.True(t, ok)
	require.Equal(t, "persistent", string(d.Msg.Body))
}
