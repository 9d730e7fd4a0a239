package persist

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/store"
)

// Enqueue adds e to queue; data (message.Marshal output) is written only for
// the first reference to e.MsgID. data must not change until done is called.
func (db *DB) Enqueue(queue string, e store.Entry, data []byte, done store.Done) {
	db.submit(op{kind: opEnqueue, name: queue, e: e, data: data, done: done})
}

// EnqueueMessage is Enqueue of message.Marshal(m), encoded by the writer
// only if it writes the message (store.MessageEnqueuer).
func (db *DB) EnqueueMessage(queue string, e store.Entry, m *message.Message, done store.Done) {
	db.submit(op{kind: opEnqueue, name: queue, e: e, msg: m, done: done})
}

// Update rewrites an entry's DeliveryCount and NotBefore (and Priority).
// An entry already removed stays removed.
func (db *DB) Update(queue string, e store.Entry, done store.Done) {
	db.submit(op{kind: opUpdate, name: queue, e: e, done: done})
}

// Remove deletes an entry, and its message with the last reference.
func (db *DB) Remove(queue string, seq uint64, done store.Done) {
	db.submit(op{kind: opRemove, name: queue, e: store.Entry{Seq: seq}, done: done})
}

// DropQueue removes every entry of queue.
func (db *DB) DropQueue(queue string, done store.Done) {
	db.submit(op{kind: opDropQueue, name: queue, done: done})
}

// Messages calls fn for each committed entry of queue in Seq order with its
// encoded message. An entry whose message is missing is logged and skipped.
func (db *DB) Messages(queue string, fn func(e store.Entry, data []byte) error) error {
	prefix := namePrefix(prefixQueue, queue)
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) != len(prefix)+8 {
				continue
			}
			var e store.Entry
			err := item.Value(func(v []byte) (err error) {
				e, err = parseEntry(binary.BigEndian.Uint64(k[len(prefix):]), v)
				return err
			})
			if err != nil {
				return fmt.Errorf("persist: queue %q: %w", queue, err)
			}
			if err := db.withMessage(txn, queue, e, fn); err != nil {
				return err
			}
		}
		return nil
	})
	return readError("read queue "+queue, err)
}

func (db *DB) withMessage(txn *badger.Txn, queue string, e store.Entry, fn func(store.Entry, []byte) error) error {
	item, err := txn.Get(msgKey(e.MsgID))
	if errors.Is(err, badger.ErrKeyNotFound) {
		db.log.Warn("queue entry without message", "queue", queue, "seq", e.Seq, "msg", e.MsgID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("persist: message %d: %w", e.MsgID, err)
	}
	return item.Value(func(v []byte) error {
		if len(v) == 0 {
			// message.Marshal never writes an empty body: Badger hands
			// one back for a pointer into a damaged, truncated value log.
			return fmt.Errorf("persist: message %d is empty: damaged file value log (*.vlog): %w", e.MsgID, store.ErrCorrupt)
		}
		return fn(e, v)
	})
}
