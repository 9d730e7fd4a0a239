package persist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/store"
)

// Segments written by WriteSegment (a Kinesis PutRecords's records for
// one shard) are kept in segment files of their own, under the data
// directory's "streams", and Badger keeps only a reference to each (a
// segRef, marked with the key's user meta). Badger would copy a segment
// into its memory-mapped value log, whose fresh pages cost a page fault
// each: measured on this machine, 1.05 ms to copy 520 KiB into fresh
// mapped pages against 0.15 ms for a pwrite of it, and 0.48 ms to
// fdatasync the written file against about 1 ms for the mapping.
//
// A segment is written and synced to its file before its reference is
// written to Badger, so a durable reference always finds its segment; a
// crash in between leaves bytes no reference names, which the next sweep
// deletes with their file. A file takes segments up to segFileMax and is
// never written again after that or after a restart (writes go to a new
// file), so a file's content only grows while it is the newest. Files no
// reference names any more (the streams were trimmed or dropped) are
// deleted by sweep, which runs when a new file is started, and after a
// trim or drop (at most every segSweepGap).
const (
	segFileMax = 64 << 20
	segFileExt = ".seg"
	// segSweepGap bounds how often trims and drops start a sweep (it
	// reads every stream key).
	segSweepGap = 30 * time.Second
	// segRefMeta marks a stream key whose value is a segRef (Badger's
	// user meta, read without the value).
	segRefMeta = 0x53
	segRefLen  = 33
	segRefVer  = 2 // a segment's own version is segVersion (1)
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// segRef names a segment in a segment file. Layout (big-endian):
//
//	[0]      segRefVer
//	[1:9]    offset of the first record
//	[9:13]   number of records
//	[13:17]  file id
//	[17:25]  position in the file
//	[25:29]  length
//	[29:33]  CRC-32C of the segment
type segRef struct {
	first    uint64
	n        uint32
	file     uint32
	pos      int64
	size     uint32
	checksum uint32
}

func (r segRef) encode() []byte {
	b := make([]byte, segRefLen)
	b[0] = segRefVer
	binary.BigEndian.PutUint64(b[1:], r.first)
	binary.BigEndian.PutUint32(b[9:], r.n)
	binary.BigEndian.PutUint32(b[13:], r.file)
	binary.BigEndian.PutUint64(b[17:], uint64(r.pos))
	binary.BigEndian.PutUint32(b[25:], r.size)
	binary.BigEndian.PutUint32(b[29:], r.checksum)
	return b
}

func parseSegRef(last uint64, v []byte) (segRef, error) {
	if len(v) != segRefLen || v[0] != segRefVer {
		return segRef{}, fmt.Errorf("persist: stream segment reference at %d: bad header: %w", last, store.ErrCorrupt)
	}
	r := segRef{
		first:    binary.BigEndian.Uint64(v[1:]),
		n:        binary.BigEndian.Uint32(v[9:]),
		file:     binary.BigEndian.Uint32(v[13:]),
		pos:      int64(binary.BigEndian.Uint64(v[17:])),
		size:     binary.BigEndian.Uint32(v[25:]),
		checksum: binary.BigEndian.Uint32(v[29:]),
	}
	if r.n == 0 || r.first+uint64(r.n)-1 != last || r.pos < 0 {
		return segRef{}, fmt.Errorf("persist: stream segment reference at %d: %d records from %d: %w", last, r.n, r.first, store.ErrCorrupt)
	}
	return r, nil
}

// segFiles is the set of segment files of one store.
type segFiles struct {
	dir     string // "" when off (an in-memory store)
	maxSize int64  // segFileMax; tests lower it
	syncs   atomic.Uint64

	mu       sync.Mutex // guards the fields below
	cur      *os.File   // the file being written; nil before the first write
	curSync  *groupSync // syncs cur
	curID    uint32
	curSize  int64
	ids      map[uint32]bool     // files on disk
	open     map[uint32]*os.File // files open for writes: cur, and older ones until their last write ends
	inflight map[uint32]int      // segments being written to a file, until referenced
	sweeping bool
	swept    time.Time // when the last sweep began
	closed   bool

	wg sync.WaitGroup
}

// openSegFiles lists the segment files under dir/streams. Writes will go
// to a new file after the newest.
func openSegFiles(dataDir string) (*segFiles, error) {
	s := &segFiles{dir: filepath.Join(dataDir, "streams"), maxSize: segFileMax, ids: map[uint32]bool{},
		open: map[uint32]*os.File{}, inflight: map[uint32]int{}}
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("persist: segment files: %w", err)
	}
	for _, e := range ents {
		if id, ok := segFileID(e.Name()); ok {
			s.ids[id] = true
			s.curID = max(s.curID, id)
		}
	}
	return s, nil
}

func segFileID(name string) (uint32, bool) {
	if !strings.HasSuffix(name, segFileExt) {
		return 0, false
	}
	id, err := strconv.ParseUint(strings.TrimSuffix(name, segFileExt), 10, 32)
	return uint32(id), err == nil
}

func (s *segFiles) path(id uint32) string {
	return filepath.Join(s.dir, fmt.Sprintf("%08d%s", id, segFileExt))
}

// write appends seg to the newest file and syncs it. It returns the
// reference to store, and rotated when it started a new file (the caller
// then sweeps). The caller calls written(ref.file) once the reference is
// in Badger, or failed to get there.
func (s *segFiles) write(seg []byte) (ref segRef, rotated bool, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ref, false, store.ErrClosed
	}
	if s.cur == nil || (s.curSize > 0 && s.curSize+int64(len(seg)) > s.maxSize) {
		if err := s.rotateLocked(); err != nil {
			s.mu.Unlock()
			return ref, false, err
		}
		rotated = true
	}
	f, gs := s.cur, s.curSync
	ref = segRef{file: s.curID, pos: s.curSize, size: uint32(len(seg))}
	s.curSize += int64(len(seg))
	s.inflight[ref.file]++
	s.mu.Unlock()
	ref.first = binary.BigEndian.Uint64(seg[1:])
	ref.n = binary.BigEndian.Uint32(seg[9:])
	ref.checksum = crc32.Checksum(seg, crcTable)
	if _, err = f.WriteAt(seg, ref.pos); err == nil {
		err = gs.sync(&s.syncs)
	}
	if err != nil {
		s.written(ref.file)
		return ref, rotated, fmt.Errorf("persist: segment file: %w", err)
	}
	return ref, rotated, nil
}

// rotateLocked starts a new file (and the directory when needed), synced
// into its directory so that a reference to it never outlives its name.
func (s *segFiles) rotateLocked() error {
	if _, err := os.Stat(s.dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(s.dir, 0o750); err != nil {
			return err
		}
		if err := syncDir(filepath.Dir(s.dir)); err != nil {
			return err
		}
	}
	id := s.curID + 1
	f, err := os.OpenFile(s.path(id), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if err := syncDir(s.dir); err != nil {
		_ = f.Close()
		_ = os.Remove(s.path(id))
		return err
	}
	if old := s.cur; old != nil && s.inflight[s.curID] == 0 {
		_ = old.Close() // else the last write to it closes it (written)
		delete(s.open, s.curID)
	}
	s.cur, s.curID, s.curSize = f, id, 0
	s.curSync = &groupSync{f: f}
	s.curSync.cond.L = &s.curSync.mu
	s.ids[id] = true
	s.open[id] = f
	return nil
}

// written ends a write to file id (see write).
func (s *segFiles) written(id uint32) {
	s.mu.Lock()
	if s.inflight[id]--; s.inflight[id] <= 0 {
		delete(s.inflight, id)
		if f, ok := s.open[id]; ok && id != s.curID {
			_ = f.Close()
			delete(s.open, id)
		}
	}
	s.mu.Unlock()
}

// errSegFileGone is a read's segment file missing: Records reads on in
// a new snapshot.
var errSegFileGone = errors.New("persist: segment file deleted")

// segReader is the segment file a read (one Records call) has open: a
// store keeps one file per 64 MiB of stream data, too many to keep open,
// and a read's segments mostly sit in one or two files. An open file
// reads on after a sweep deleted it.
type segReader struct {
	id uint32
	f  *os.File
}

func (r *segReader) close() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
}

// read returns the segment ref names, read into buf (grown as needed)
// through r, with its checksum checked.
func (s *segFiles) read(ref segRef, buf []byte, r *segReader) ([]byte, error) {
	if r.f == nil || r.id != ref.file {
		r.close()
		f, err := os.Open(s.path(ref.file))
		if errors.Is(err, fs.ErrNotExist) { // deleted by a sweep: its segments were trimmed since the read began
			return buf, fmt.Errorf("persist: segment file %d: %v: %w", ref.file, err, errSegFileGone)
		}
		if err != nil {
			return buf, fmt.Errorf("persist: segment file %d: %v: %w", ref.file, err, store.ErrCorrupt)
		}
		r.id, r.f = ref.file, f
	}
	f := r.f
	if cap(buf) < int(ref.size) {
		buf = make([]byte, ref.size)
	}
	buf = buf[:ref.size]
	if _, err := f.ReadAt(buf, ref.pos); err != nil {
		return buf, fmt.Errorf("persist: segment file %d at %d: %v: %w", ref.file, ref.pos, err, store.ErrCorrupt)
	}
	if crc32.Checksum(buf, crcTable) != ref.checksum {
		return buf, fmt.Errorf("persist: segment file %d at %d: checksum: %w", ref.file, ref.pos, store.ErrCorrupt)
	}
	return buf, nil
}

// sweepAsync runs sweep on its own goroutine unless one runs already or
// one began less than gap ago.
func (s *segFiles) sweepAsync(bdb *badger.DB, gap time.Duration, log func(error)) {
	s.mu.Lock()
	if s.dir == "" || s.sweeping || s.closed || time.Since(s.swept) < gap {
		s.mu.Unlock()
		return
	}
	s.sweeping, s.swept = true, time.Now()
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		err := s.sweep(bdb)
		s.mu.Lock()
		s.sweeping = false
		s.mu.Unlock()
		if err != nil {
			log(err)
		}
	}()
}

// sweep deletes the files no reference in Badger names. Only files
// older than the newest and with no write under way are candidates,
// chosen before Badger is read: a write to one of them has put its
// reference in Badger by then, so the scan sees it.
func (s *segFiles) sweep(bdb *badger.DB) error {
	s.mu.Lock()
	var cand []uint32
	for id := range s.ids {
		if id < s.curID && s.inflight[id] == 0 {
			cand = append(cand, id)
		}
	}
	s.mu.Unlock()
	if len(cand) == 0 {
		return nil
	}
	used := map[uint32]bool{}
	err := bdb.View(func(txn *badger.Txn) error {
		prefix := []byte(prefixRecord)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if item.UserMeta() != segRefMeta {
				continue
			}
			if err := item.Value(func(v []byte) error {
				if len(v) == segRefLen {
					used[binary.BigEndian.Uint32(v[13:])] = true
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("persist: segment files sweep: %w", errIsClosed(err))
	}
	for _, id := range cand {
		if used[id] {
			continue
		}
		s.mu.Lock()
		if f, ok := s.open[id]; ok {
			_ = f.Close()
			delete(s.open, id)
		}
		delete(s.ids, id)
		s.mu.Unlock()
		if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("persist: segment files sweep: %w", err)
		}
	}
	return nil
}

// diskBytes returns the size of the segment files.
func (s *segFiles) diskBytes() int64 {
	s.mu.Lock()
	ids := make([]uint32, 0, len(s.ids))
	for id := range s.ids {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	var n int64
	for _, id := range ids {
		if fi, err := os.Stat(s.path(id)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// close waits for a sweep under way and closes the files.
func (s *segFiles) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, f := range s.open {
		_ = f.Close()
		delete(s.open, id)
	}
	s.cur = nil
}

// groupSync syncs one file for writers on many goroutines (the shards of
// a PutRecords, concurrent requests): each waits for an fdatasync that
// began after its write ended, and starts one when none runs, so that
// the writes that end while one runs share the next.
type groupSync struct {
	f       *os.File
	mu      sync.Mutex
	cond    sync.Cond // on mu: a sync ended
	syncing bool
	started uint64 // syncs begun
	ended   uint64 // the last sync ended
	failed  uint64 // the last sync that failed, 0 if none
	err     error  // its error
}

// sync returns once a sync that began after the call is done, counting
// the syncs it runs in n.
func (g *groupSync) sync(n *atomic.Uint64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	want := g.started + 1
	for g.ended < want {
		if g.syncing {
			g.cond.Wait()
			continue
		}
		g.syncing = true
		g.started++
		gen := g.started
		g.mu.Unlock()
		err := fdatasync(g.f)
		g.mu.Lock()
		g.syncing, g.ended = false, gen
		if err != nil {
			g.failed, g.err = gen, err
		} else {
			n.Add(1)
		}
		g.cond.Broadcast()
	}
	if g.failed >= want {
		return g.err
	}
	return nil
}
