package persist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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
	vlogSyncs atomic.Uint64 // syncCurrent calls that synced the value log

	// The newest files, kept open for syncCurrent: a file's id and its
	// descriptor (nil until first needed).
	memFile, vlogFile     *os.File
	memFileID, vlogFileID int

	// watch reports files created in dir (nil: none, look every time);
	// unseen is set while a reported creation has not been followed yet.
	watch   *fileWatch
	unseen  bool
	lookups atomic.Uint64 // followBoth calls that looked for new files
}

// open records the newest value-log and memtable-log ids in dir.
// The watch starts before the listing, so that no file created in
// between is missed.
func (r *rotationSync) open(dir string) error {
	r.watch = openFileWatch(dir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		r.close()
		return err
	}
	r.dir, r.vlog, r.mem = dir, 0, 0
	r.unseen = true // the first sync looks once in any case
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
	return r.followBoth()
}

// followBoth follows the value log and the memtable log; r.mu held.
// A log has a successor only once Badger has created a file, so when the
// watch has seen no file created since the last complete look, there is
// nothing to follow and no directory to list.
func (r *rotationSync) followBoth() error {
	if r.watch != nil {
		if r.watch.changed() {
			r.unseen = true
		}
		if !r.unseen {
			return nil
		}
	}
	r.lookups.Add(1)
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return err
	}
	if err := r.follow(ents, ".vlog", &r.vlog, r.vlogPath); err != nil {
		return err
	}
	if err := r.follow(ents, ".mem", &r.mem, r.memPath); err != nil {
		return err
	}
	r.unseen = false
	return nil
}

// follow advances *id to the newest file of its kind in ents, syncing
// every file from *id on that has a newer one. The ids need not be dense
// from *id: a memtable log created and flushed to a table between two
// looks (when writes go unsynced for a while, see DB.deferSync) is gone,
// and a gap must not stop the walk. A file already gone was flushed (a
// memtable log becomes a synced table) or collected, and needs nothing.
func (r *rotationSync) follow(ents []os.DirEntry, ext string, id *int, path func(int) string) error {
	var older []int // ids at or above *id with a newer file
	newest := *id
	for _, e := range ents {
		n, ok := logID(e.Name(), ext)
		if !ok || n < *id {
			continue
		}
		if n > newest {
			newest = n
		}
		older = append(older, n)
	}
	if newest == *id {
		return nil
	}
	slices.Sort(older)
	for _, n := range older {
		if n == newest {
			break
		}
		if err := syncFile(path(n)); err != nil {
			return err
		}
		r.synced.Add(1)
	}
	*id = newest
	return nil
}

// syncCurrent makes everything written so far to the newest memtable log
// durable, and to the newest value-log file too when vlog is set: it
// first syncs every file that has a successor (as syncRotated), then the
// newest with fdatasync. Badger writes both logs through shared mappings,
// whose dirty pages the kernel tracks in the page cache, so fdatasync of
// the file is what msync(MS_SYNC) of the mapping does (Linux implements
// one with the other), without Badger's lock or a walk over the mapping.
func (r *rotationSync) syncCurrent(vlog bool) error {
	if r.dir == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.followBoth(); err != nil {
		return err
	}
	if err := syncOpen(&r.memFile, &r.memFileID, r.mem, r.memPath); err != nil {
		return err
	}
	if vlog {
		r.vlogSyncs.Add(1)
		return syncOpen(&r.vlogFile, &r.vlogFileID, r.vlog, r.vlogPath)
	}
	return nil
}

// syncOpen fdatasyncs file id, reusing *f when it is that file and
// opening it (closing the old one) when not. A file that does not exist
// yet has nothing written to it: Badger creates a log before it writes it.
func syncOpen(f **os.File, fid *int, id int, path func(int) string) error {
	if *f == nil || *fid != id {
		nf, err := os.Open(path(id))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if *f != nil {
			_ = (*f).Close()
		}
		*f, *fid = nf, id
	}
	return fdatasync(*f)
}

// close closes the files syncCurrent keeps open, and the watch.
func (r *rotationSync) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.watch != nil {
		r.watch.close()
		r.watch = nil
	}
	for _, f := range []**os.File{&r.memFile, &r.vlogFile} {
		if *f != nil {
			_ = (*f).Close()
			*f = nil
		}
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
