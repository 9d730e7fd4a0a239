package persist

import (
	"sync/atomic"
	"syscall"
	"time"

	"github.com/junctionmq/junction/core/store"
)

// DefaultDiskFreeLimit is the free space below which writes that grow the
// store are refused: RabbitMQ's disk_free_limit default (50 MB).
const DefaultDiskFreeLimit = 50_000_000

// diskCheckEvery bounds how often the writer asks the filesystem for its
// free space.
const diskCheckEvery = 100 * time.Millisecond

// diskGuard keeps the store off a full disk. Badger writes its value log
// through a memory map of a preallocated sparse file, so running out of
// space while writing faults the process (SIGBUS) instead of returning
// ENOSPC; the only safe answer is never to get there. Like RabbitMQ's disk
// alarm, the guard refuses writes that grow the store (enqueues, updates,
// stream appends) with store.ErrDiskFull while free space is below the
// limit, and lets through those that shrink it (removes, drops, trims).
// Only the writer goroutine calls check; Low may be called from anywhere.
type diskGuard struct {
	path    string
	limit   int64
	checked time.Time
	low     atomic.Bool
}

// check refreshes the free-space reading when it is stale and reports
// whether the store must refuse to grow.
func (g *diskGuard) check(now time.Time) bool {
	if g.limit <= 0 || g.path == "" {
		return false
	}
	if now.Sub(g.checked) >= diskCheckEvery {
		g.checked = now
		var fs syscall.Statfs_t
		if err := syscall.Statfs(g.path, &fs); err == nil {
			g.low.Store(int64(fs.Bavail)*int64(fs.Bsize) < g.limit)
		}
	}
	return g.low.Load()
}

// DiskLow reports whether the store's filesystem has less free space than
// its limit (the disk alarm): writes that grow the store are refused.
func (db *DB) DiskLow() bool { return db.disk.low.Load() }

// refuseGrowth fails the ops of batch that would grow the store when the
// disk is low, and returns the others.
func (db *DB) refuseGrowth(batch []op) []op {
	if !db.disk.check(time.Now()) {
		return batch
	}
	kept := batch[:0]
	for _, o := range batch {
		switch o.kind {
		case opEnqueue, opUpdate, opAppend, opPageOut:
			if o.done != nil {
				o.done(store.ErrDiskFull)
			}
		default:
			kept = append(kept, o)
		}
	}
	return kept
}
