package persist

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/store"
)

// Append adds rec at offset to stream, as a segment of one record (see
// segment.go). rec may change once Append returns.
func (db *DB) Append(stream string, offset uint64, rec []byte, done store.Done) {
	db.submit(op{kind: opAppend, name: stream, e: store.Entry{Seq: offset}, data: encodeSegment(offset, [][]byte{rec}), done: done})
}

// AppendBatch adds recs at offsets first, first+1, ... to stream as one
// segment (several if they pass segMaxBytes), so a batch costs one key
// and one value. done is called once, when every record is durable or
// with the first failure. recs may change once AppendBatch returns.
func (db *DB) AppendBatch(stream string, first uint64, recs [][]byte, done store.Done) {
	if len(recs) == 0 {
		if done != nil {
			done(nil)
		}
		return
	}
	if segmentLen(recs) <= segMaxBytes {
		last := first + uint64(len(recs)) - 1
		db.submit(op{kind: opAppend, name: stream, e: store.Entry{Seq: last}, data: encodeSegment(first, recs), done: done})
		return
	}
	// Several segments: the writer calls Dones in submission order, so
	// the last one runs after the others and reports the first failure.
	var failed error
	runs := 0
	splitSegments(first, recs, func(uint64, [][]byte) { runs++ })
	splitSegments(first, recs, func(from uint64, run [][]byte) {
		runs--
		last := from + uint64(len(run)) - 1
		d := func(err error) {
			if failed == nil {
				failed = err
			}
		}
		if runs == 0 {
			d = func(err error) {
				if failed == nil {
					failed = err
				}
				if done != nil {
					done(failed)
				}
			}
		}
		db.submit(op{kind: opAppend, name: stream, e: store.Entry{Seq: last}, data: encodeSegment(from, run), done: d})
	})
}

// Trim deletes stream's records below offset; StreamBounds then reports
// below as the first offset even if no record remains.
func (db *DB) Trim(stream string, below uint64, done store.Done) {
	db.submit(op{kind: opTrim, name: stream, e: store.Entry{Seq: below}, done: db.thenSweep(done)})
}

// DropStream deletes a stream's records and its trim mark.
func (db *DB) DropStream(stream string, done store.Done) {
	db.submit(op{kind: opDropStream, name: stream, done: db.thenSweep(done)})
}

// thenSweep returns done followed by a sweep of the segment files the
// deleted segments may have left unnamed (at most every segSweepGap). A
// nil done stays nil: the writer lingers for batches no one waits for.
func (db *DB) thenSweep(done store.Done) store.Done {
	if done == nil || db.segFiles.dir == "" {
		return done
	}
	return func(err error) {
		done(err)
		if err == nil {
			db.sweepSegFiles(segSweepGap)
		}
	}
}

// Records calls fn for committed records of stream from offset on, in
// order, until fn returns false. rec is valid only during the call.
func (db *DB) Records(stream string, from uint64, fn func(offset uint64, rec []byte) bool) error {
	// A read sees the records of one snapshot, and a sweep may delete a
	// segment file that a trim made unreferenced after the snapshot was
	// taken. Then the read goes on from where it got to in a new snapshot,
	// where those segments are gone too; a file missing in the new one
	// as well is damage.
	next := from
	track := func(offset uint64, rec []byte) bool {
		next = offset + 1
		return fn(offset, rec)
	}
	var err error
	for range 3 {
		if err = db.records(stream, next, track); !errors.Is(err, errSegFileGone) {
			break
		}
	}
	if errors.Is(err, errSegFileGone) {
		err = fmt.Errorf("%w: %w", err, store.ErrCorrupt)
	}
	return readError("read stream "+stream, err)
}

func (db *DB) records(stream string, from uint64, fn func(offset uint64, rec []byte) bool) error {
	prefix := namePrefix(prefixRecord, stream)
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		// Segments are keyed by their last offset: the first at or after
		// from holds from (or starts after it, when from was trimmed).
		var buf []byte // a segment read from its file (segment_file.go)
		var rf segReader
		defer rf.close()
		for it.Seek(binary.BigEndian.AppendUint64(prefix, from)); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) != len(prefix)+8 {
				continue
			}
			last := binary.BigEndian.Uint64(k[len(prefix):])
			more := true
			var ref segRef
			err := item.Value(func(v []byte) error {
				if item.UserMeta() == segRefMeta {
					var err error
					ref, err = parseSegRef(last, v)
					return err
				}
				seg, err := parseSegment(last, v)
				if err != nil {
					return err
				}
				more, err = seg.each(from, fn)
				return err
			})
			if err == nil && item.UserMeta() == segRefMeta {
				if buf, err = db.segFiles.read(ref, buf, &rf); err == nil {
					var seg segment
					if seg, err = parseSegment(last, buf); err == nil {
						more, err = seg.each(from, fn)
					}
				}
			}
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
	return err
}

// StreamBounds returns the first and next offsets of stream's committed
// records; first is at least the last Trim's offset. An unknown or dropped
// stream is (0, 0).
func (db *DB) StreamBounds(stream string) (first, next uint64, err error) {
	prefix := namePrefix(prefixRecord, stream)
	err = db.bdb.View(func(txn *badger.Txn) error {
		if item, err := txn.Get(prefix); err == nil {
			err = item.Value(func(v []byte) error {
				if len(v) == 8 {
					first = binary.BigEndian.Uint64(v)
					next = first
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		for it.Seek(binary.BigEndian.AppendUint64(prefix, first)); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) != len(prefix)+8 {
				continue
			}
			err := item.Value(func(v []byte) error {
				last := binary.BigEndian.Uint64(k[len(prefix):])
				if item.UserMeta() == segRefMeta {
					ref, err := parseSegRef(last, v)
					first = max(first, ref.first)
					return err
				}
				seg, err := parseSegment(last, v)
				first = max(first, seg.first)
				return err
			})
			if err != nil {
				it.Close()
				return err
			}
			break
		}
		it.Close()
		it = txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		it.Seek(binary.BigEndian.AppendUint64(prefix, ^uint64(0)))
		if it.Valid() {
			if k := it.Item().Key(); len(k) == len(prefix)+8 {
				next = max(next, binary.BigEndian.Uint64(k[len(prefix):])+1)
			}
		}
		return nil
	})
	if next < first {
		next = first
	}
	return first, next, errIsClosed(err)
}
