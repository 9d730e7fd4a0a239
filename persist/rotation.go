package persist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// rotationSync closes a gap in Badger's durability with SyncWrites off,
// which Junction runs with so that one sync covers a whole group commit.
// badger.DB.Sync syncs only the current memtable's log and the current
// value-log file. When a write fills either and Badger moves on to a new
// file, the old one is left unsynced (logFile.doneWriting syncs it only
// with SyncWrites on), yet it may hold the start of the batch the next
// Sync confirms. A kill -9 keeps it (the page cache survives), a power
// loss need not. So after each Sync, any log file that has a successor
// since the last check is synced too, before the batch is confirmed.
type rotationSync struct {
	mu        sync.Mutex
	dir       string // Badger's directory; "" in memory
	vlog, mem int    // the newest file ids known
	synced    atomic.Uint64
}

// open records the newest value-log and memtable-log ids in dir.
func (r *rotationSync) open(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	r.dir, r.vlog, r.mem = dir, 0, 0
	for _, e := range ents {
		name := e.Name()
		if id, ok := logID(name, ".vlog"); ok && id > r.vlog {
			r.vlog = id
		}
		if id, ok := logID(name, ".mem"); ok && id > r.mem {
			r.mem = id
		}
	}
	return nil
}

func logID(name, ext string) (int, bool) {
	if !strings.HasSuffix(name, ext) {
		return 0, false
	}
	id, err := strconv.Atoi(strings.TrimSuffix(name, ext))
	return id, err == nil && id >= 0
}

func (r *rotationSync) vlogPath(id int) string {
	return filepath.Join(r.dir, fmt.Sprintf("%06d.vlog", id))
}

func (r *rotationSync) memPath(id int) string {
	return filepath.Join(r.dir, fmt.Sprintf("%05d.mem", id))
}

// syncRotated syncs every log file that has been succeeded by a newer one
// since the last call. Call it after badger.DB.Sync: a file replaced
// before that Sync is caught here, one replaced after it was synced by it.
func (r *rotationSync) syncRotated() error {
	if r.dir == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.follow(&r.vlog, r.vlogPath); err != nil {
		return err
	}
	return r.follow(&r.mem, r.memPath)
}

// follow advances *id past every file whose successor exists, syncing
// each. A file already gone was flushed (a memtable log becomes a synced
// table) or collected, and needs nothing.
func (r *rotationSync) follow(id *int, path func(int) string) error {
	for {
		if _, err := os.Stat(path(*id + 1)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := syncFile(path(*id)); err != nil {
			return err
		}
		r.synced.Add(1)
		*id++
	}
}

// syncFile flushes a file's data (written through Badger's mmap) to disk.
func syncFile(name string) error {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}
