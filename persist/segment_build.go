package persist

import (
	"encoding/binary"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/store"
)

// NewSegment lays out a segment of n records, the first at offset first,
// record i being size(i) bytes, and returns it with one slice per record
// for the caller to fill in place. The caller then hands seg to
// AppendSegment; so a batch is copied once, into the value the store
// writes, rather than encoded and then gathered into a segment. ok is
// false (and nothing is allocated) when n is 0 or the records do not fit
// one segment (segMaxBytes): use AppendBatch then.
func (db *DB) NewSegment(first uint64, n int, size func(i int) int) (seg []byte, recs [][]byte, ok bool) {
	if n <= 0 {
		return nil, nil, false
	}
	total := segHeaderLen + 4*n
	for i := 0; i < n; i++ {
		total += size(i)
		if total > segMaxBytes {
			return nil, nil, false
		}
	}
	seg = make([]byte, total)
	seg[0] = segVersion
	binary.BigEndian.PutUint64(seg[1:], first)
	binary.BigEndian.PutUint32(seg[9:], uint32(n))
	recs = make([][]byte, n)
	data := seg[segHeaderLen+4*n:]
	end := 0
	for i := range recs {
		sz := size(i)
		recs[i] = data[end : end+sz : end+sz]
		end += sz
		binary.BigEndian.PutUint32(seg[segHeaderLen+4*i:], uint32(end))
	}
	return seg, recs, true
}

// AppendSegment adds a segment built by NewSegment (its records filled
// in) to stream; its records then sit at offsets first, first+1, ... as
// NewSegment was told. done is called once, when every record is durable
// or with the failure. seg is stored as it is, not copied: it must not
// change once AppendSegment is called (readers may keep aliasing it).
func (db *DB) AppendSegment(stream string, seg []byte, done store.Done) {
	first := binary.BigEndian.Uint64(seg[1:])
	n := uint64(binary.BigEndian.Uint32(seg[9:]))
	db.submit(op{kind: opAppend, name: stream, e: store.Entry{Seq: first + n - 1}, data: seg, done: done})
}

// WriteSegment is AppendSegment with the write done at once, by the
// caller: seg goes to a segment file (segment_file.go), synced, and its
// reference into Badger, on the caller's goroutine, and only the sync of
// Badger's log is queued (opSync), so that the writer syncs one batch
// while the next ones are being written rather than write and sync in
// turn. done is called, as for AppendSegment, once seg is durable: after
// a sync that began once its reference was written. An in-memory store
// writes seg itself into Badger.
//
// It reports false when it queued seg as AppendSegment does instead: the
// store is in fault or the disk is low (the writer refuses the segment
// then), value-log GC holds writes off, or a write failed.
//
// A segment written this way is in Badger before the writes queued
// earlier, so a crash could keep it without them: the caller must not
// have earlier appends of the same stream still queued (core/stream waits
// until they are durable), nor a DropStream of it pending.
func (db *DB) WriteSegment(stream string, seg []byte, done store.Done) bool {
	first := binary.BigEndian.Uint64(seg[1:])
	last := first + uint64(binary.BigEndian.Uint32(seg[9:])) - 1
	if !db.Failed() && !db.DiskLow() {
		key := recordKey(stream, last)
		val, meta := seg, byte(0)
		var ref segRef
		sf := db.segFiles
		ok := sf.dir == ""
		if !ok {
			var rotated bool
			var err error
			ref, rotated, err = sf.write(seg)
			if rotated {
				db.sweepSegFiles(0)
			}
			ok = err == nil
			val, meta = ref.encode(), segRefMeta
		}
		if ok {
			ok = db.writeDirect(badger.NewEntry(key, val).WithMeta(meta))
			if sf.dir != "" {
				sf.written(ref.file)
			}
		}
		if ok {
			if int64(len(val)) >= db.opts.ValueThreshold {
				db.vlogUnsynced.Store(true) // the writer's next sync covers the value log too
			}
			db.submit(op{kind: opSync, done: done})
			return true
		}
	}
	db.submit(op{kind: opAppend, name: stream, e: store.Entry{Seq: last}, data: seg, done: done})
	return false
}

// writeDirect writes e to Badger without syncing, and reports whether it
// did. Badger refuses writes while value-log GC flushes the memtable
// (ErrBlockedWrites) or once closed; the writer then tries.
func (db *DB) writeDirect(e *badger.Entry) bool {
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	if err := wb.SetEntry(e); err != nil {
		return false
	}
	return wb.Flush() == nil
}

// sweepSegFiles deletes segment files no segment reference names any
// more, on a goroutine of its own, unless a sweep began less than gap ago.
func (db *DB) sweepSegFiles(gap time.Duration) {
	db.segFiles.sweepAsync(db.bdb, gap, func(err error) { db.log.Warn("stream segment files sweep failed", "err", err) })
}
