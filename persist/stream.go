package persist

import (
	"encoding/binary"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/store"
)

// Append adds rec at offset to stream. rec must not change until done is called.
func (db *DB) Append(stream string, offset uint64, rec []byte, done store.Done) {
	db.submit(op{kind: opAppend, name: stream, e: store.Entry{Seq: offset}, data: rec, done: done})
}

// Trim deletes stream's records below offset; StreamBounds then reports
// below as the first offset even if no record remains.
func (db *DB) Trim(stream string, below uint64, done store.Done) {
	db.submit(op{kind: opTrim, name: stream, e: store.Entry{Seq: below}, done: done})
}

// DropStream deletes a stream's records and its trim mark.
func (db *DB) DropStream(stream string, done store.Done) {
	db.submit(op{kind: opDropStream, name: stream, done: done})
}

// Records calls fn for committed records of stream from offset on, in
// order, until fn returns false.
func (db *DB) Records(stream string, from uint64, fn func(offset uint64, rec []byte) bool) error {
	prefix := namePrefix(prefixRecord, stream)
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Seek(binary.BigEndian.AppendUint64(prefix, from)); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) != len(prefix)+8 {
				continue
			}
			more := true
			err := item.Value(func(v []byte) error {
				more = fn(binary.BigEndian.Uint64(k[len(prefix):]), v)
				return nil
			})
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
	return readError("read stream "+stream, err)
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
			if k := it.Item().Key(); len(k) == len(prefix)+8 {
				first = binary.BigEndian.Uint64(k[len(prefix):])
				break
			}
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
