package persist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// gcFlushPrefix is a prefix no key has (see RunGC).
const gcFlushPrefix = "!gc"

// runGC runs RunGC every GCInterval and when the writer reports many deletes.
func (db *DB) runGC(ctx context.Context) {
	defer db.wg.Done()
	t := time.NewTicker(db.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-db.gcKick:
		}
		if err := db.RunGC(); err != nil {
			db.log.Warn("store gc", "err", err)
		}
	}
}

// RunGC reclaims space now: it flushes the memtable, compacts the LSM tree
// so deleted keys are dropped, then rewrites value-log files that are at
// least half garbage until none is left. The background loop calls it too.
func (db *DB) RunGC() error {
	db.gcMu.Lock()
	defer db.gcMu.Unlock()
	if db.opts.InMemory || db.Failed() {
		return nil // in fault, Badger must not be written (see writeFault)
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
		return fmt.Errorf("persist: gc flush: %w", errIsClosed(err))
	}
	if err := db.bdb.Flatten(1); err != nil {
		return fmt.Errorf("persist: gc flatten: %w", errIsClosed(err))
	}
	for {
		err := db.bdb.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("persist: value log gc: %w", errIsClosed(err))
		}
	}
}
