package persist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/store"
)

// Options configure Open. The zero value is a durable store with defaults.
type Options struct {
	// InMemory keeps everything in memory (Badger's InMemory mode): for tests
	// where durability is not the point; a value (an encoded message or
	// stream record) may then be at most 1 MiB. dir may then be "" (else it is only
	// locked).
	InMemory bool
	// Logger receives Badger's warnings and errors; nil means slog.Default().
	Logger *slog.Logger
	// GCInterval is how often value-log GC and compaction run in the
	// background; 0 means 30 s, a negative value turns the loop off.
	GCInterval time.Duration
	// AckLinger is how long a batch someone waits for is held back while
	// consumers acknowledge messages before they reach the disk (see
	// DefaultAckLinger); 0 means DefaultAckLinger, below 0 never.
	AckLinger time.Duration
	// ValueLogFileSize is the size of one value-log file; 0 means 64 MiB.
	ValueLogFileSize int64
	// ValueThreshold is the size above which a value goes to the value log
	// instead of the LSM tree; 0 means 4 KiB, so small messages live in the LSM.
	ValueThreshold int64
	// MemTableSize is Badger's memtable size; 0 means 16 MiB.
	MemTableSize int64
	// DiskFreeLimit is the free space below which writes that grow the
	// store are refused with store.ErrDiskFull; 0 means
	// DefaultDiskFreeLimit, a negative value turns the check off.
	DiskFreeLimit int64

	// syncAfter overrides defaultSyncAfter, updateHold defaultUpdateHold (tests).
	syncAfter, updateHold time.Duration
}

// blockCacheSize is Badger's cache of decompressed table blocks.
const blockCacheSize = 16 << 20

// gcAfterDeletes is the number of deleted keys after which the writer asks
// the GC loop to run early.
const gcAfterDeletes = 100_000

// DB is the Badger-backed store. It is safe for concurrent use.
type DB struct {
	bdb  *badger.DB
	opts Options
	log  *slog.Logger
	lock *os.File // advisory lock on the data directory

	mu      sync.Mutex // guards pending, waiters, lingering and closed
	pending []op
	waiters int // ops in pending with a Done callback
	closed  bool
	wake    chan struct{} // signals the writer; capacity 1
	// lingering: the writer holds pending ops back until a timer, and
	// needs no wake for an op that cannot end its linger sooner.
	lingering bool
	pendEnq   map[entryRef]int // Enqueue ops in pending → their index (see submit)
	early     []store.Done     // Dones of Enqueues cancelled in pending, for runEarly

	earlyWake chan struct{} // signals runEarly; capacity 1

	// Owned by the writer goroutine (and by Open before it starts).
	refs    map[uint64]int32             // msgID → number of queue entries
	entries map[string]map[uint64]uint64 // queue → seq → msgID
	plan    batchPlan
	deletes int // keys deleted since the last GC kick

	writeMu sync.Mutex    // held across Badger writes; RunGC holds it to flush the memtable
	gcMu    sync.Mutex    // serialises GC runs
	gcKick  chan struct{} // asks the GC loop to run now; capacity 1

	disk  diskGuard  // owned by the writer; see diskfree.go
	fault writeFault // owned by the writer; see fault.go

	stats     counters
	commitLat latencyHist
	rotation  rotationSync // see rotation.go
	segFiles  *segFiles    // stream segments written by WriteSegment (segment_file.go)
	// vlogUnsynced is set by whatever may write the value log without
	// syncing it (value-log GC moves live values to its head), so that the
	// writer's next commit syncs it even if its own batch wrote nothing
	// there (see syncBatch).
	vlogUnsynced atomic.Bool
	// memUnsynced is set by a batch written without a sync (see
	// deferSync) until a sync of the memtable log covers it.
	memUnsynced atomic.Bool
	syncKick    chan struct{} // tells the writer a batch was left unsynced; capacity 1
	cancel      context.CancelFunc
	wg          sync.WaitGroup // the writer and GC goroutines
}

var (
	_ store.Store         = (*DB)(nil)
	_ store.WrittenWaiter = (*DB)(nil)
)

// Stats are counters since Open.
type Stats struct {
	Batches        uint64 // batches committed (one write and one sync each)
	Ops            uint64 // operations submitted to the writer
	CancelledPairs uint64 // Enqueue+Remove pairs that met in a batch and skipped the disk
	CancelledEarly uint64 // of those, pairs that met before the writer took the Enqueue (confirmed at once)
	GCRuns         uint64 // value-log GC passes
	// SupersededUpdates counts Updates that a Remove of the same entry
	// made unnecessary (an SQS receive then delete, an AMQP delivery then
	// ack), in the same batch or while the writer held the update back
	// (see holdUpdates), so that only the delete was written.
	SupersededUpdates uint64
	// UnsyncedBatches counts batches written without a sync because no
	// one waited for them to be durable (see Written); DeferredSyncs the
	// syncs the writer made for them when no durable batch came within
	// defaultSyncAfter.
	UnsyncedBatches, DeferredSyncs uint64
}

type counters struct {
	batches, ops, cancelled, cancelledEarly, gcRuns, superseded atomic.Uint64
	unsynced, deferredSyncs                                     atomic.Uint64
}

// Stats returns the counters.
func (db *DB) Stats() Stats {
	return Stats{
		Batches:           db.stats.batches.Load(),
		Ops:               db.stats.ops.Load(),
		CancelledPairs:    db.stats.cancelled.Load(),
		CancelledEarly:    db.stats.cancelledEarly.Load(),
		GCRuns:            db.stats.gcRuns.Load(),
		SupersededUpdates: db.stats.superseded.Load(),
		UnsyncedBatches:   db.stats.unsynced.Load(),
		DeferredSyncs:     db.stats.deferredSyncs.Load(),
	}
}

// Open opens or creates the store under dir. A directory held by another
// process (or another Open) yields an error wrapping store.ErrLocked, a
// newer format store.ErrNewerFormat, a damaged file store.ErrCorrupt.
func Open(dir string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	var lock *os.File
	if !opts.InMemory || dir != "" {
		if err := checkWritable(dir); err != nil {
			return nil, err
		}
		var err error
		if lock, err = lockDir(dir); err != nil {
			return nil, err
		}
	}
	bdb, err := openBadger(filepath.Join(dir, "store"), opts)
	if err != nil {
		unlockDir(lock)
		return nil, err
	}
	db := &DB{bdb: bdb, opts: opts, log: opts.Logger, lock: lock,
		wake: make(chan struct{}, 1), gcKick: make(chan struct{}, 1), syncKick: make(chan struct{}, 1),
		pendEnq: make(map[entryRef]int), earlyWake: make(chan struct{}, 1), segFiles: &segFiles{}}
	if !opts.InMemory {
		if err := db.rotation.open(filepath.Join(dir, "store")); err != nil {
			_ = bdb.Close()
			unlockDir(lock)
			return nil, err
		}
		db.vlogUnsynced.Store(true) // whatever Badger wrote at open: the first batch syncs it
		if db.segFiles, err = openSegFiles(dir); err != nil {
			db.rotation.close()
			_ = bdb.Close()
			unlockDir(lock)
			return nil, err
		}
		db.disk = diskGuard{path: dir, limit: opts.DiskFreeLimit}
		db.fault.dir = dir
		if db.disk.limit == 0 {
			db.disk.limit = DefaultDiskFreeLimit
		}
	}
	if err := db.prepare(); err != nil {
		db.rotation.close()
		_ = bdb.Close()
		unlockDir(lock)
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	db.cancel = cancel
	db.wg.Add(2)
	go db.runWriter(ctx)
	go db.runEarly(ctx)
	if opts.GCInterval > 0 && !opts.InMemory {
		db.wg.Add(1)
		go db.runGC(ctx)
	}
	return db, nil
}

// prepare checks and migrates the format, then rebuilds the in-memory index.
func (db *DB) prepare() error {
	if err := db.checkFormat(); err != nil {
		return err
	}
	if err := db.rebuild(); err != nil {
		return err
	}
	if err := db.dropAllPaged(); err != nil {
		return err
	}
	return db.sweepOrphans()
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.AckLinger == 0 {
		o.AckLinger = DefaultAckLinger
	}
	if o.GCInterval == 0 {
		o.GCInterval = 30 * time.Second
	}
	if o.ValueLogFileSize == 0 {
		o.ValueLogFileSize = 64 << 20
	}
	if o.ValueThreshold == 0 {
		o.ValueThreshold = 4 << 10
		if o.InMemory {
			// In memory there is no value log: every value must fit under
			// the threshold, whose ceiling in Badger is 1 MiB.
			o.ValueThreshold = 1 << 20
		}
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 16 << 20
	}
	if o.syncAfter == 0 {
		o.syncAfter = defaultSyncAfter
	}
	if o.updateHold == 0 {
		o.updateHold = defaultUpdateHold
	}
	return o
}

func openBadger(path string, opts Options) (bdb *badger.DB, err error) {
	bo := badger.DefaultOptions(path).
		WithInMemory(opts.InMemory).
		WithSyncWrites(false).
		WithLogger(slogLogger{opts.Logger.With("component", "badger")}).
		WithValueLogFileSize(opts.ValueLogFileSize).
		WithValueThreshold(opts.ValueThreshold).
		WithMemTableSize(opts.MemTableSize).
		WithNumVersionsToKeep(1).
		WithDetectConflicts(false).
		WithVerifyValueChecksum(true).
		// Sized for a broker rather than a database: Badger's block cache
		// (256 MiB by default) keeps decompressed blocks for reads, but a
		// broker reads its store at start and for backlogs, not on every
		// delivery, and the cache only ever grows the heap; two compactors
		// are enough for one store and bound the table builders' buffers.
		WithBlockCacheSize(blockCacheSize).
		WithNumCompactors(2)
	if opts.InMemory {
		bo = bo.WithDir("").WithValueDir("")
	}
	defer func() {
		// Badger panics on some damaged files; report them as corruption.
		if r := recover(); r != nil {
			bdb, err = nil, fmt.Errorf("persist: open %s: %v: %w", path, r, store.ErrCorrupt)
		}
	}()
	if !opts.InMemory {
		if err := checkTables(path); err != nil {
			return nil, err
		}
	}
	bdb, err = badger.Open(bo)
	if err != nil {
		return nil, classifyOpenError(path, err)
	}
	return bdb, nil
}

// checkWritable creates dir if needed and proves a file can be written in it.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("persist: cannot create data directory %q: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("persist: data directory %q is not writable: %w", dir, err)
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}

// Flush waits until every operation submitted so far is durable and returns
// the error of the last batch that held one of them, if any.
func (db *DB) Flush() error {
	ch := make(chan error, 1)
	db.submit(op{kind: opBarrier, done: func(err error) { ch <- err }})
	return <-ch
}

// Written waits until every operation submitted so far is written to the
// store's logs, synced or not, and returns the error of the last batch
// that held one of them, if any. Lease updates no one waits for are the
// exception: the writer may hold them back for defaultUpdateHold (see
// holdUpdates), for a delete to supersede them. A written operation survives the end of
// the process (kill -9: the page cache keeps the logs' mapped pages); it
// survives a power loss once synced, which the next durable batch does,
// or the writer within defaultSyncAfter.
func (db *DB) Written() error {
	ch := make(chan error, 1)
	db.submit(op{kind: opWritten, done: func(err error) { ch <- err }})
	return <-ch
}

// Close flushes, stops the writer and GC goroutines and closes Badger.
// Operations submitted after Close fail with store.ErrClosed.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return store.ErrClosed
	}
	db.closed = true
	db.mu.Unlock()
	db.cancel() // the writer commits what is pending, then returns
	db.wg.Wait()
	db.rotation.close() // the writer's sync descriptors
	db.segFiles.close()
	if db.Failed() {
		// Badger would retry flushing its memtable forever: give it a
		// bounded time, and leave what is confirmed on disk as it is.
		closed := make(chan error, 1)
		go func() {
			db.gcMu.Lock()
			defer db.gcMu.Unlock()
			closed <- db.bdb.Close()
		}()
		select {
		case err := <-closed:
			unlockDir(db.lock)
			if err != nil {
				return fmt.Errorf("persist: close: %w", err)
			}
			return nil
		case <-time.After(closeFailedWait):
			unlockDir(db.lock)
			return fmt.Errorf("persist: close: the data directory refuses writes; "+
				"gave up flushing after %v (every confirmed write is on disk)", closeFailedWait)
		}
	}
	db.gcMu.Lock()
	defer db.gcMu.Unlock()
	err := db.bdb.Close()
	unlockDir(db.lock)
	if err != nil {
		return fmt.Errorf("persist: close: %w", err)
	}
	return nil
}

// sync makes written data durable; in-memory mode has nothing to sync.
func (db *DB) sync() error {
	if db.opts.InMemory {
		return nil
	}
	if err := db.bdb.Sync(); err != nil {
		return err
	}
	return db.rotation.syncRotated()
}

// errIsClosed maps Badger's closed error to store.ErrClosed.
func errIsClosed(err error) error {
	if errors.Is(err, badger.ErrDBClosed) {
		return store.ErrClosed
	}
	return err
}
