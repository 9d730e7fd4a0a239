package persist

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/store"
)

// FormatVersion is the key layout this code writes. A store written by a
// newer version is refused; an older one is migrated step by step.
const FormatVersion = 3

// migrations[v] upgrades a store from format v to v+1.
var migrations = map[uint32]func(*badger.DB) error{
	0: migrateV0,
	1: migrateStreamsV1, // segment.go
	// Format 3 adds stream keys that reference segment files
	// (segment_file.go), which a format 2 build would take for damaged
	// segments; it reads format 2's keys unchanged.
	2: func(*badger.DB) error { return nil },
}

// prefixQueueV0 is where format 0 kept queue entries: "e/" instead of "q/",
// same name escaping, seq and value.
const prefixQueueV0 = "e/"

// checkFormat reads the format key, writing it on a new store, migrating an
// older store and refusing a newer one.
func (db *DB) checkFormat() error {
	v, found, err := readFormat(db.bdb)
	if err != nil {
		return err
	}
	if !found {
		return writeFormat(db.bdb, FormatVersion)
	}
	if v > FormatVersion {
		return fmt.Errorf("persist: store format %d, this build reads up to %d: %w", v, FormatVersion, store.ErrNewerFormat)
	}
	for ; v < FormatVersion; v++ {
		migrate, ok := migrations[v]
		if !ok {
			return fmt.Errorf("persist: no migration from format %d", v)
		}
		db.log.Warn("migrating store format", "from", v, "to", v+1)
		if err := migrate(db.bdb); err != nil {
			return fmt.Errorf("persist: migrate format %d to %d: %w", v, v+1, err)
		}
		if err := writeFormat(db.bdb, v+1); err != nil {
			return err
		}
	}
	return nil
}

func readFormat(bdb *badger.DB) (uint32, bool, error) {
	var v uint32
	err := bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(formatKey))
		if err != nil {
			return err
		}
		return item.Value(func(val []byte) error {
			if len(val) != 4 {
				return fmt.Errorf("persist: format key has %d bytes: %w", len(val), store.ErrCorrupt)
			}
			v = binary.BigEndian.Uint32(val)
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("persist: read format: %w", err)
	}
	return v, true, nil
}

func writeFormat(bdb *badger.DB, v uint32) error {
	err := bdb.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(formatKey), binary.BigEndian.AppendUint32(nil, v))
	})
	if err == nil {
		err = syncUnlessMemory(bdb)
	}
	if err != nil {
		return fmt.Errorf("persist: write format %d: %w", v, err)
	}
	return nil
}

func syncUnlessMemory(bdb *badger.DB) error {
	if bdb.Opts().InMemory {
		return nil
	}
	return bdb.Sync()
}

// migrateV0 moves queue entries from "e/…" keys to "q/…" keys. It is
// idempotent: a crash midway leaves keys under both prefixes, and a rerun
// copies the rest (a copied key is the same value) and deletes the old ones.
func migrateV0(bdb *badger.DB) error {
	return movePrefix(bdb, prefixQueueV0, prefixQueue, nil)
}

// movePrefix moves every key under from to the same key under to, in one
// write batch, converting its value with convert (nil: unchanged), and
// syncs. A rerun after a crash midway copies the rest and deletes the old
// keys, so a migration built on it is idempotent.
func movePrefix(bdb *badger.DB, from, to string, convert func(old, val []byte) ([]byte, error)) error {
	wb := bdb.NewWriteBatch()
	defer wb.Cancel()
	err := bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(from), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			old := item.KeyCopy(nil)
			val, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if convert != nil {
				if val, err = convert(old, val); err != nil {
					return err
				}
			}
			if err := wb.Set(append([]byte(to), old[len(from):]...), val); err != nil {
				return err
			}
			if err := wb.Delete(old); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	return syncUnlessMemory(bdb)
}

// rebuild scans every queue entry to rebuild the entry index and the
// message reference counts.
func (db *DB) rebuild() error {
	db.refs = make(map[uint64]int32)
	db.entries = make(map[string]map[uint64]uint64)
	return db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixQueue), PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			queue, seq, ok := splitSeqKey(prefixQueue, item.Key())
			if !ok {
				return fmt.Errorf("persist: bad queue key %q: %w", item.Key(), store.ErrCorrupt)
			}
			var e store.Entry
			err := item.Value(func(v []byte) (err error) {
				e, err = parseEntry(seq, v)
				return err
			})
			if err != nil {
				return err
			}
			db.indexEntry(queue, seq, e.MsgID)
		}
		return nil
	})
}

func (db *DB) indexEntry(queue string, seq, msgID uint64) {
	q := db.entries[queue]
	if q == nil {
		q = make(map[uint64]uint64)
		db.entries[queue] = q
	}
	q[seq] = msgID
	db.refs[msgID]++
}

// sweepOrphans deletes stored messages no entry references: a crash between
// the split parts of a large batch can leave them behind.
func (db *DB) sweepOrphans() error {
	var orphans [][]byte
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixMsg), PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != len(prefixMsg)+8 || db.refs[binary.BigEndian.Uint64(k[len(prefixMsg):])] == 0 {
				orphans = append(orphans, it.Item().KeyCopy(nil))
			}
		}
		return nil
	})
	if err != nil || len(orphans) == 0 {
		return err
	}
	db.log.Warn("deleting unreferenced messages", "count", len(orphans))
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range orphans {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	return syncUnlessMemory(db.bdb)
}
