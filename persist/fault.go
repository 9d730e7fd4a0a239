package persist

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/junctionmq/junction/core/store"
)

// faultProbeEvery bounds how often a failed store checks whether its data
// directory takes writes again.
const faultProbeEvery = time.Second

// closeFailedWait is how long Close waits for Badger when the data
// directory refuses writes: Badger retries flushing its memtable forever
// then, and what was confirmed is on disk already.
const closeFailedWait = 5 * time.Second

// writeFault is the store's state after a batch failed to reach the disk
// for a reason other than a full disk (a file system turned read-only, an
// I/O error). Badger cannot be written safely then: a failed fsync leaves
// the batch in its memtable, and a memtable that fills while no file can
// be created stops Badger for good. So the writer stops writing: every
// operation is refused with the error (publishers are nacked; removes are
// dropped and their messages may come back after a restart, as after a
// crash) until a probe file can be written in the data directory and
// Badger syncs again; then the index is rebuilt from what Badger holds
// and writes resume. Only the writer goroutine touches err and probed.
type writeFault struct {
	dir    string // the data directory ("" in memory: no probe, no fault)
	err    error  // why writes are refused; nil when healthy
	probed time.Time
	on     atomic.Bool // err != nil, for other goroutines (GC, Close, Failed)
}

// Failed reports whether the store refuses writes because its data
// directory does not take them (see writeFault).
func (db *DB) Failed() bool { return db.fault.on.Load() }

// enterFault starts refusing writes after a batch failed with err.
func (db *DB) enterFault(err error) {
	if db.fault.dir == "" || errors.Is(err, store.ErrClosed) || errors.Is(err, store.ErrDiskFull) {
		return
	}
	db.fault.err = fmt.Errorf("persist: data directory refuses writes: %w", err)
	db.fault.probed = time.Now()
	db.fault.on.Store(true)
	db.log.Error("store: the data directory refuses writes; persistent messages are refused until it takes them again",
		"dir", db.fault.dir, "err", err)
}

// refuseWhileFaulted fails every op of batch while the store is in fault,
// probing the data directory at most every faultProbeEvery; once it
// takes writes again it returns batch for the writer to commit.
func (db *DB) refuseWhileFaulted(batch []op) []op {
	f := &db.fault
	if f.err == nil {
		return batch
	}
	if now := time.Now(); now.Sub(f.probed) >= faultProbeEvery {
		f.probed = now
		if err := probeDir(f.dir); err == nil {
			if err = db.sync(); err == nil {
				err = db.rebuild()
			}
			if err == nil {
				db.log.Warn("store: the data directory takes writes again; writes resume", "dir", f.dir)
				f.err = nil
				f.on.Store(false)
				return batch
			}
		}
	}
	for _, o := range batch {
		if o.done != nil {
			o.done(f.err)
		}
	}
	return nil
}

// probeDir writes, syncs and removes a small file in dir.
func probeDir(dir string) error {
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	_, err = f.Write([]byte("probe"))
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close(), os.Remove(name))
	if err == nil {
		err = syncDir(filepath.Dir(name))
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}
