package persist

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// gcFlushPrefix is a prefix no key has (see RunGC).
const gcFlushPrefix = "!gc"

// runGC runs RunGC every GCInterval and when the writer reports many
// deletes. A tick with nothing written since the last run skips it: there
// is nothing new to reclaim, and a run would still flush the memtable
// into a fresh arena (MemTableSize and a third more) and compact. The
// first such idle tick returns the freed memory to the system instead:
// the store's memtable arenas and table buffers are the broker's largest
// allocations, and the Go runtime otherwise keeps the heap it grew to
// under load (up to its last GC goal) long after the load ends.
func (db *DB) runGC(ctx context.Context) {
	defer db.wg.Done()
	t := time.NewTicker(db.opts.GCInterval)
	defer t.Stop()
	lastOps, returned, more := ^uint64(0), false, false // the first tick runs
	for {
		kicked := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-db.gcKick:
			kicked = true
		}
		ops := db.stats.ops.Load()
		if ops == lastOps && !kicked && !more {
			if !returned {
				debug.FreeOSMemory()
				returned = true
			}
			continue
		}
		lastOps, returned = ops, false
		var err error
		if more, err = db.runGC1(); err != nil {
			db.log.Warn("store gc", "err", err)
		}
	}
}

// RunGC reclaims space now: it flushes the memtable, compacts the LSM tree
// so deleted keys are dropped, then rewrites value-log files that are at
// least half garbage until none is left. The background loop calls it too.
func (db *DB) RunGC() error {
	_, err := db.runGC1()
	return err
}

// runGC1 is RunGC; it also reports whether value-log files were
// rewritten, so that another pass may find more.
func (db *DB) runGC1() (rewrote bool, _ error) {
	db.gcMu.Lock()
	defer db.gcMu.Unlock()
	if db.opts.InMemory || db.Failed() {
		return false, nil // in fault, Badger must not be written (see writeFault)
	}
	db.stats.gcRuns.Add(1)
	// DropPrefix of a marker key is the one way Badger offers to flush
	// the memtable (it skips prefixes no key has), so deletes reach the tables compaction sees. It
	// refuses concurrent writes, so hold the writer off meanwhile.
	db.writeMu.Lock()
	err := db.bdb.Update(func(txn *badger.Txn) error { return txn.Set([]byte(gcFlushPrefix), nil) })
	if err == nil {
		err = db.bdb.DropPrefix([]byte(gcFlushPrefix))
	}
	db.writeMu.Unlock()
	if err != nil {
		return false, fmt.Errorf("persist: gc flush: %w", errIsClosed(err))
	}
	if err := db.bdb.Flatten(1); err != nil {
		return false, fmt.Errorf("persist: gc flatten: %w", errIsClosed(err))
	}
	for {
		err := db.bdb.RunValueLogGC(0.5)
		db.vlogUnsynced.Store(true) // a rewrite moved values to the log's head, unsynced
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return rewrote, nil
		}
		if err != nil {
			return rewrote, fmt.Errorf("persist: value log gc: %w", errIsClosed(err))
		}
		rewrote = true
	}
}
