package persist

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/junctionmq/junction/core/store"
)

// PutDef durably stores a definition record.
func (db *DB) PutDef(kind, key string, val []byte) error {
	return db.put(recordKeyDef(prefixDef, kind, key), val)
}

// DeleteDef durably removes a definition record.
func (db *DB) DeleteDef(kind, key string) error {
	return db.del(recordKeyDef(prefixDef, kind, key))
}

// Defs calls fn for every definition of kind, in key order.
func (db *DB) Defs(kind string, fn func(key string, val []byte) error) error {
	return db.scan(namePrefix(prefixDef, kind), fn)
}

// PutState durably stores a face state record.
func (db *DB) PutState(ns, key string, val []byte) error {
	return db.put(recordKeyDef(prefixState, ns, key), val)
}

// PutStates queues face state writes for the group-committing writer (see
// store.StateBatcher): they share the batch, the write and the sync of the
// operations around them, and done is called after the sync.
func (db *DB) PutStates(ops []store.StateOp, done store.Done) {
	if len(ops) == 0 {
		if done != nil {
			done(nil)
		}
		return
	}
	db.submit(op{kind: opStates, st: ops, done: done})
}

var _ store.StateBatcher = (*DB)(nil)

// DeleteState durably removes a face state record.
func (db *DB) DeleteState(ns, key string) error {
	return db.del(recordKeyDef(prefixState, ns, key))
}

// States calls fn for every state record of ns, in key order.
func (db *DB) States(ns string, fn func(key string, val []byte) error) error {
	return db.scan(namePrefix(prefixState, ns), fn)
}

func (db *DB) put(key, val []byte) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	err := db.bdb.Update(func(txn *badger.Txn) error { return txn.Set(key, val) })
	if err == nil {
		err = db.sync()
	}
	if err != nil {
		return writeError(fmt.Errorf("put %q: %w", key, err))
	}
	return nil
}

func (db *DB) del(key []byte) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	err := db.bdb.Update(func(txn *badger.Txn) error { return txn.Delete(key) })
	if err == nil {
		err = db.sync()
	}
	if err != nil {
		return writeError(fmt.Errorf("delete %q: %w", key, err))
	}
	return nil
}

func (db *DB) scan(prefix []byte, fn func(key string, val []byte) error) error {
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			key := string(item.Key()[len(prefix):])
			if err := item.Value(func(v []byte) error { return fn(key, v) }); err != nil {
				return err
			}
		}
		return nil
	})
	return errIsClosed(err)
}
