package persist

import (
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/store"
)

// DB pages transient messages out for the core (store.Pager).
var _ store.Pager = (*DB)(nil)

func pagedKey(queue string, seq uint64) []byte { return seqKey(prefixPaged, queue, seq) }

// PageOut stores a transient message's encoded data under queue and seq
// until it is paged back in. Pages are not durable: Open drops them all.
// data must not change until done is called.
func (db *DB) PageOut(queue string, seq uint64, data []byte, done store.Done) {
	db.submit(op{kind: opPageOut, name: queue, e: store.Entry{Seq: seq}, data: data, done: done})
}

// RemovePaged deletes one page.
func (db *DB) RemovePaged(queue string, seq uint64, done store.Done) {
	db.submit(op{kind: opRemovePaged, name: queue, e: store.Entry{Seq: seq}, done: done})
}

// DropPaged deletes every page of queue.
func (db *DB) DropPaged(queue string, done store.Done) {
	db.submit(op{kind: opDropPaged, name: queue, done: done})
}

// PageIn calls fn for each committed page of seqs (ascending), in one read
// transaction: one seek, then a walk over the queue's pages up to the last
// seq asked for. fn must not retain data.
func (db *DB) PageIn(queue string, seqs []uint64, fn func(i int, data []byte)) error {
	if len(seqs) == 0 {
		return nil
	}
	prefix := namePrefix(prefixPaged, queue)
	last := seqs[len(seqs)-1]
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true,
			PrefetchSize: min(len(seqs), 256)})
		defer it.Close()
		j := 0
		for it.Seek(pagedKey(queue, seqs[0])); it.Valid() && j < len(seqs); it.Next() {
			k := it.Item().Key()
			if len(k) != len(prefix)+8 {
				continue
			}
			seq := binary.BigEndian.Uint64(k[len(prefix):])
			if seq > last {
				break
			}
			for j < len(seqs) && seqs[j] < seq {
				j++
			}
			if j == len(seqs) || seqs[j] != seq {
				continue
			}
			i := j
			if err := it.Item().Value(func(v []byte) error { fn(i, v); return nil }); err != nil {
				return fmt.Errorf("persist: page %d of %q: %w", seq, queue, err)
			}
			j++
		}
		return nil
	})
	return readError("page in "+queue, err)
}

// planPageOut writes a page, remembered so that a removal or drop later
// in the same batch cancels it before the disk.
func (db *DB) planPageOut(queue string, seq uint64, data []byte) {
	p := &db.plan
	p.pages[entryRef{queue, seq}] = p.add(mutation{key: pagedKey(queue, seq), val: data})
}

// planRemovePaged deletes a page: a write of this batch is cancelled (a
// queue pages a seq out at most once between removals, so nothing older
// is on disk); else the committed page is deleted.
func (db *DB) planRemovePaged(queue string, seq uint64) {
	p := &db.plan
	ref := entryRef{queue, seq}
	if i, ok := p.pages[ref]; ok {
		p.muts[i].skip = true
		delete(p.pages, ref)
		return
	}
	p.add(mutation{key: pagedKey(queue, seq), del: true})
}

// planDropPaged deletes a queue's pages: this batch's by cancellation,
// committed ones found by a keys-only scan.
func (db *DB) planDropPaged(queue string) error {
	p := &db.plan
	for ref, i := range p.pages {
		if ref.queue == queue {
			p.muts[i].skip = true
			delete(p.pages, ref)
		}
	}
	prefix := namePrefix(prefixPaged, queue)
	return db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			p.add(mutation{key: it.Item().KeyCopy(nil), del: true})
		}
		return nil
	})
}

// dropAllPaged deletes every page left by an earlier run (Open): paged
// messages were transient and do not survive a restart.
func (db *DB) dropAllPaged() error {
	found := false
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixPaged)})
		defer it.Close()
		it.Rewind()
		found = it.Valid()
		return nil
	})
	if err != nil || !found {
		return err
	}
	if err := db.bdb.DropPrefix([]byte(prefixPaged)); err != nil {
		return fmt.Errorf("persist: drop paged messages: %w", err)
	}
	return nil
}
