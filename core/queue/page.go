package queue

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/store"
)

// Paging: while memory runs short, PageOut moves the bodies of ready
// transient messages to the store (store.Pager) and keeps a stub entry
// (seq, size, priority, expiry, arrival, delivery state) whose msg is nil.
// Before a stub is handed out, take pages it back in together with the
// stubs after it (pageIn). Pages are not durable: the store drops them
// when it opens, so a transient message still dies with the broker.
//
// A queue pages under its own key (pageKey: the store key and a number
// unique in the process), so that the pages of a deleted queue, whose
// writes may still be in flight, never meet those of a queue declared
// again under the same name.
//
// Only transient messages of non-FIFO queues are paged: persistent ones
// are in the store already, and FIFO (SQS) groups look at the message of
// every ready entry they skip.

const (
	pageOutBatch = 4096    // entries paged out per store round trip, at most
	pageOutBytes = 4 << 20 // and body bytes: a batch is briefly held twice (encoded, and in the store's write)
	pageInBatch  = 1000    // stubs paged back in by one read
	pageInScan   = 4 * pageInBatch
)

// pageInstances numbers the queues that page, for their pageKey.
var pageInstances atomic.Uint64

// pageCand is a ready entry chosen to be paged out, with what identifies
// it once the write is committed (the entry may have been delivered, or
// recycled for another seq, meanwhile).
type pageCand struct {
	e   *entry
	seq uint64
	msg *message.Message
	err error // the write's outcome
}

// PageOut moves the bodies of ready transient messages to the store,
// those delivered last first (lowest priority, tail of the ready list),
// keeping the next keep messages to deliver in memory. It writes in
// batches and waits for each to be committed, so call it from a
// background goroutine with no lock held; it stops early when ctx ends.
// It returns how many messages it paged out. A queue whose store cannot
// page (no store.Pager), a FIFO queue, or a PageOut already running on
// the queue pages nothing.
func (q *Queue) PageOut(ctx context.Context, keep int) (int, error) {
	if q.pager == nil {
		return 0, nil
	}
	q.mu.Lock()
	if q.pagingOut {
		q.mu.Unlock()
		return 0, nil
	}
	q.pagingOut = true
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.pagingOut = false
		q.mu.Unlock()
	}()
	total := 0
	for ctx.Err() == nil {
		key, cands := q.pageCandidates(keep)
		if len(cands) == 0 {
			return total, nil
		}
		n, err := q.writePages(key, cands)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, ctx.Err()
}

// pageCandidates picks up to pageOutBatch ready transient entries in
// memory, from the tail of the lowest level up, sparing the first keep in
// delivery order.
func (q *Queue) pageCandidates(keep int) (string, []pageCand) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted || q.cfg.Options.FIFO || q.nready-q.npaged <= keep {
		return "", nil
	}
	if q.pageKey == "" {
		q.pageKey = q.cfg.Key + "\x00paged\x00" + strconv.FormatUint(pageInstances.Add(1), 10)
	}
	above := q.nready // ready entries in this level and the levels above it
	var cands []pageCand
	bytes := 0
	for l := range q.ready {
		d := &q.ready[l]
		above -= d.n
		from := max(keep-above, 0) // the first from entries of d are among the next keep
		for i := d.n - 1; i >= from && len(cands) < pageOutBatch && bytes < pageOutBytes; i-- {
			if e := d.at(i); e.msg != nil && !e.persisted {
				cands = append(cands, pageCand{e: e, seq: e.seq, msg: e.msg})
				bytes += e.size
			}
		}
	}
	return q.pageKey, cands
}

// writePages encodes the candidates, submits them to the store, waits
// until they are committed and turns those still ready into stubs.
func (q *Queue) writePages(key string, cands []pageCand) (int, error) {
	var wg sync.WaitGroup
	wg.Add(len(cands))
	size := 0
	for i := range cands {
		size += cands[i].msg.Size() + 256 // the body and room for its properties
	}
	buf := make([]byte, 0, size) // grown only by messages with large properties
	for i := range cands {
		c := &cands[i]
		start := len(buf)
		buf = message.Marshal(buf, c.msg) // a slice keeps its array when buf grows
		q.pager.PageOut(key, c.seq, buf[start:len(buf):len(buf)], func(err error) {
			c.err = err
			wg.Done()
		})
	}
	wg.Wait()
	return q.commitPages(key, cands)
}

// commitPages makes stubs of the written candidates that are still ready
// with the message they were written with; the pages of the others
// (delivered, settled or deleted meanwhile, or whose write failed) are
// removed. It returns how many became stubs and the first write error.
func (q *Queue) commitPages(key string, cands []pageCand) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	var err error
	for i := range cands {
		c := &cands[i]
		e := c.e
		if c.err != nil || q.deleted || e.seq != c.seq || e.msg != c.msg || e.state != stReady || e.hidx >= 0 {
			if c.err != nil && err == nil {
				err = c.err
			}
			q.pager.RemovePaged(key, c.seq, nil)
			continue
		}
		e.arrived, e.msg = c.msg.Arrived, nil
		q.npaged++
		q.pagedB += e.size
		n++
	}
	return n, err
}

// pageIn reads the stubs of d from index i on (up to pageInBatch of them)
// back into memory and reports whether d.at(i) is in memory. The read is
// made under the queue's lock, a documented exception to "no disk I/O
// under a lock": it is one seek and a short walk in Badger's memtable or
// LSM tree, made once per pageInBatch messages and only while messages
// are paged out (after a memory alarm), and releasing the lock midway
// would let every other path see half-filled stubs.
func (q *Queue) pageIn(d *deque, i int) bool {
	ents := make([]*entry, 0, pageInBatch)
	seqs := make([]uint64, 0, pageInBatch)
	for j := i; j < d.n && j < i+pageInScan && len(ents) < pageInBatch; j++ {
		if e := d.at(j); e.msg == nil {
			ents = append(ents, e)
			seqs = append(seqs, e.seq)
		}
	}
	_ = q.pager.PageIn(q.pageKey, seqs, func(k int, data []byte) { q.fill(ents[k], data) })
	return d.at(i).msg != nil
}

// loadPaged pages one stub back in (a dead-lettered stub); false when the
// store could not give it back.
func (q *Queue) loadPaged(e *entry) bool {
	_ = q.pager.PageIn(q.pageKey, []uint64{e.seq}, func(_ int, data []byte) { q.fill(e, data) })
	return e.msg != nil
}

// fill turns stub e back into an entry in memory with its page's data and
// removes the page. Data that does not decode leaves e a stub.
func (q *Queue) fill(e *entry, data []byte) {
	m, err := message.Unmarshal(data)
	if err != nil {
		return
	}
	e.msg = m
	q.npaged--
	q.pagedB -= e.size
	q.pager.RemovePaged(q.pageKey, e.seq, nil)
}

// unpage forgets stub e, which leaves the queue unread (acked by an SQS
// receipt of an expired lease, purged, expired without dead-lettering).
func (q *Queue) unpage(e *entry) {
	q.npaged--
	q.pagedB -= e.size
	q.pager.RemovePaged(q.pageKey, e.seq, nil)
}

// dropPaged deletes every page of the queue (the queue is deleted).
func (q *Queue) dropPaged() {
	if q.pageKey != "" {
		q.pager.DropPaged(q.pageKey, nil)
	}
	q.npaged, q.pagedB = 0, 0
}

// pagerOf returns st's Pager, or nil when it cannot page.
func pagerOf(st store.Store) store.Pager {
	p, _ := st.(store.Pager)
	return p
}
