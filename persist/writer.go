package persist

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/store"
)

type opKind uint8

const (
	opEnqueue opKind = iota
	opUpdate
	opRemove
	opDropQueue
	opAppend
	opTrim
	opDropStream
	opStates      // PutStates: face state puts and deletes, in order
	opBarrier     // Flush: no write, done once everything before it is durable
	opPageOut     // store.Pager: a transient message paged out (page.go)
	opRemovePaged // one page deleted
	opDropPaged   // a queue's pages deleted
	opCancelled   // an enqueue removed before the writer took it: nothing to write
	opSync        // WriteSegment: written by its caller already; its batch syncs even if it writes nothing
	opWritten     // Written: no write, done once everything before it is written (not synced)
)

// op is one submitted write. For streams, e.Seq holds the offset.
type op struct {
	kind opKind
	name string
	e    store.Entry
	data []byte
	st   []store.StateOp  // opStates only
	msg  *message.Message // opEnqueue without data: encoded when written
	done store.Done
	at   int64 // opEnqueue, opUpdate: when submitted (monoNow)
}

// epoch is the origin of monoNow.
var epoch = time.Now()

// monoNow is the time since epoch on the monotonic clock, in nanoseconds.
func monoNow() int64 { return int64(time.Since(epoch)) }

// submit queues o for the writer. It never blocks on I/O.
//
// A Remove of an entry whose Enqueue is still pending (the writer has not
// taken it yet: a consumer acknowledged the message while the previous
// batch was being synced) cancels that Enqueue before it reaches the disk,
// and the Enqueue's Done is called at once, by the early goroutine: the
// message has been handled, as RabbitMQ's message store confirms a
// persistent message consumed before it was written. The Remove is still
// queued, for an older copy of the entry the index may hold.
func (db *DB) submit(o op) {
	if o.kind == opEnqueue || o.kind == opUpdate {
		o.at = monoNow()
	}
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		if o.done != nil {
			o.done(store.ErrClosed)
		}
		return
	}
	early := false
	switch o.kind {
	case opEnqueue:
		db.pendEnq[entryRef{o.name, o.e.Seq}] = len(db.pending)
	case opRemove:
		early = db.cancelPendingLocked(entryRef{o.name, o.e.Seq})
	}
	db.pending = append(db.pending, o)
	// A lingering writer wakes for nothing but a first waiter, which may
	// cut its linger short (see runWriter); the linger's end takes the rest.
	wake := !db.lingering || (o.done != nil && db.waiters == 0)
	if o.done != nil {
		db.waiters++
	}
	db.mu.Unlock()
	db.stats.ops.Add(1)
	if wake {
		select {
		case db.wake <- struct{}{}:
		default:
		}
	}
	if early {
		select {
		case db.earlyWake <- struct{}{}:
		default:
		}
	}
}

// cancelPendingLocked turns the pending Enqueue of ref, if any, into a
// no-op and moves its Done to the early list; it reports whether it did.
// Called with db.mu held.
func (db *DB) cancelPendingLocked(ref entryRef) bool {
	i, ok := db.pendEnq[ref]
	if !ok {
		return false
	}
	delete(db.pendEnq, ref)
	p := &db.pending[i]
	db.stats.cancelled.Add(1)
	db.stats.cancelledEarly.Add(1)
	done := p.done
	*p = op{kind: opCancelled}
	if done == nil {
		return false
	}
	db.waiters--
	db.early = append(db.early, done)
	return true
}

// runEarly calls the Dones of cancelled Enqueues (see submit) outside
// db.mu, in the order they were cancelled. On ctx cancellation it calls
// what is left and returns.
func (db *DB) runEarly(ctx context.Context) {
	defer db.wg.Done()
	var spare []store.Done
	for {
		stopping := false
		select {
		case <-db.earlyWake:
		case <-ctx.Done():
			stopping = true
		}
		db.mu.Lock()
		list := db.early
		db.early = spare[:0]
		db.mu.Unlock()
		for _, done := range list {
			done(nil)
		}
		clear(list)
		spare = list
		if stopping {
			return
		}
	}
}

// lingerFor is how long the writer holds back a batch that no one waits
// for (lease updates, removes: their Done is nil) in the hope that a
// write someone waits for comes along and shares its sync. A lone delete
// is thus on disk within lingerFor; under load, receives and deletes ride
// along with the sends' commits instead of paying a sync of their own.
const lingerFor = 2 * time.Millisecond

// DefaultAckLinger is how long the writer holds back a batch that someone
// waits for while consumers are acknowledging messages before they reach
// the disk (an enqueue was cancelled early within ackingFor, see submit):
// acknowledgements that arrive meanwhile cancel their enqueues, which are
// then confirmed without a write, and the batch that remains is smaller.
// RabbitMQ's message store holds writes back the same way (its queues
// sync on a 25 ms timer). Without consumers acking early there is no
// wait. Measured here (persistent 16 B, confirm window 100, one consumer,
// A B A B, 6 s runs): 132k-139k msg/s with 250 µs, 144k-148k with 1 ms,
// 188k-196k with 2 ms (confirm p99 1.6-1.8 ms, against 2.0-2.1 ms at
// 250 µs and ~100k msg/s without lingering at all).
const DefaultAckLinger = 2 * time.Millisecond

// ackingFor is how long after the last early cancellation the writer
// keeps lingering for acknowledgements.
const ackingFor = 100 * time.Millisecond

// minCutGap is the least time between two batch cuts while the writer
// holds young enqueues back (see dueLocked): the ops that aged meanwhile
// share one commit instead of each paying a wake-up of their own.
const minCutGap = 500 * time.Microsecond

// runWriter is the one writer goroutine: it takes the pending slice, commits
// it as one batch and calls the Done callbacks. A batch without waiters
// lingers (see lingerFor), and so does one with waiters while consumers
// acknowledge before the disk (see DefaultAckLinger). While they do, a
// batch takes only the ops up to the first enqueue younger than AckLinger
// (see dueLocked): the younger ones stay pending for their own
// acknowledgements to cancel them. On ctx cancellation it commits what is
// left and returns.
func (db *DB) runWriter(ctx context.Context) {
	defer db.wg.Done()
	var spare []op
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	lingering := false
	var lingerEnd time.Time
	acking := false                        // enqueues were cancelled early within ackingFor
	var earlySeen uint64                   // stats.cancelledEarly at the last batch cut
	var earlyAt time.Time                  // when a batch cut last saw it grow
	var held []op                          // lease updates a cut holds back (holdUpdates)
	removed := make(map[entryRef]struct{}) // holdUpdates' scratch
	syncTimer := time.NewTimer(time.Hour)
	syncTimer.Stop()
	syncArmed := false // syncTimer runs for a write left unsynced (deferSync)
	for {
		stopping, expired := false, false
		select {
		case <-db.wake:
		case <-linger.C:
			expired = true
		case <-db.syncKick:
			if !syncArmed {
				syncArmed = true
				syncTimer.Reset(db.opts.syncAfter)
			}
			continue
		case <-syncTimer.C:
			syncArmed = false
			db.syncDeferred()
			continue
		case <-ctx.Done():
			stopping = true
		}
		holdYoung := acking && db.opts.AckLinger > 0 && !stopping
		db.mu.Lock()
		if !stopping && !expired && len(db.pending) > 0 {
			wait := time.Duration(0)
			switch {
			case db.waiters == 0:
				wait = lingerFor
			case holdYoung:
				wait = db.opts.AckLinger
			}
			if wait > 0 {
				db.lingering = true
				db.mu.Unlock()
				// Start lingering, or shorten a linger a waiter now cuts short.
				if now := time.Now(); !lingering || lingerEnd.After(now.Add(wait)) {
					lingering, lingerEnd = true, now.Add(wait)
					linger.Reset(wait)
				}
				continue
			}
		}
		if lingering && !expired {
			linger.Stop()
		}
		lingering = false
		all := db.pending
		n := len(all)
		var next time.Duration // when the held-back rest is due
		if holdYoung {
			n, next = db.dueLocked()
		}
		batch := all[:n]
		if !stopping {
			var nextUpd time.Duration
			batch, held, nextUpd = holdUpdates(batch, held[:0], monoNow(), db.opts.updateHold, removed)
			if nextUpd > 0 && (next == 0 || nextUpd < next) {
				next = nextUpd
			}
		}
		db.lingering = next > 0
		if len(held) > 0 {
			held = append(held, all[n:]...)
			db.pending = db.keepRestLocked(spare[:0], held)
			clear(held)
		} else if n < len(all) {
			db.pending = db.keepRestLocked(spare[:0], all[n:])
		} else {
			db.pending, db.waiters = spare[:0], 0
			clear(db.pendEnq)
		}
		db.mu.Unlock()
		if next > 0 {
			lingering, lingerEnd = true, time.Now().Add(next)
			linger.Reset(next)
		}
		if early := db.stats.cancelledEarly.Load(); early != earlySeen {
			earlySeen, earlyAt = early, time.Now()
		}
		acking = !earlyAt.IsZero() && time.Since(earlyAt) < ackingFor
		if len(batch) > 0 {
			if kept := db.refuseWhileFaulted(db.refuseGrowth(batch)); len(kept) > 0 {
				db.commit(kept)
			}
		}
		clear(all)
		spare = all[:0]
		if stopping {
			db.syncDeferred()
			return
		}
	}
}

// defaultUpdateHold is how long the writer holds back a lease update no one
// waits for (an SQS receive's visibility deadline, an AMQP delivery's
// count): the delete or ack that usually follows within a few
// milliseconds then finds it still pending, and the entry's key is
// written once, deleted, instead of twice. A crash loses at most a held
// update, which no one was promised: the message comes back with its
// previous deadline and count.
const defaultUpdateHold = 5 * time.Millisecond

// holdUpdates moves the lease updates of batch that no one waits for and
// that are younger than hold into held, keeping the rest of batch
// in order, and returns when the oldest held one is due (at least
// minCutGap from now). Updates whose entry the batch removes are not held
// (the remove supersedes them there), nor those before a Flush barrier: Flush
// covers everything before it. A Written barrier does not cover them (see
// DB.Written): no one waits for them, and reordering them after later ops
// is safe, as an update applies only to the entry and message it names
// (planUpdate).
func holdUpdates(batch, held []op, now int64, hold time.Duration, removed map[entryRef]struct{}) (kept, heldOut []op, next time.Duration) {
	cutoff := now - int64(hold)
	holdable := func(o *op) bool { return o.kind == opUpdate && o.done == nil && o.at > cutoff }
	found := false
	for i := range batch {
		if holdable(&batch[i]) {
			found = true
			break
		}
	}
	if !found {
		// Nothing to hold (an AMQP batch of enqueues and acks): no
		// index of the batch's removes per ack.
		return batch, held, 0
	}
	flush := -1
	clear(removed)
	for i := range batch {
		switch batch[i].kind {
		case opBarrier:
			flush = i
		case opRemove:
			removed[entryRef{batch[i].name, batch[i].e.Seq}] = struct{}{}
		}
	}
	kept = batch[:0]
	for i := range batch {
		o := batch[i]
		if i > flush && holdable(&o) && !removedLater(removed, o) {
			held = append(held, o)
			if d := time.Duration(o.at - cutoff); next == 0 || d < next {
				next = d
			}
			continue
		}
		kept = append(kept, o)
	}
	if len(held) > 0 {
		next = max(next, minCutGap)
	}
	return kept, held, next
}

// removedLater reports whether the batch removes the entry an update
// names: the remove supersedes it in the batch (planRemove), and it need
// not be held.
func removedLater(removed map[entryRef]struct{}, o op) bool {
	_, ok := removed[entryRef{o.name, o.e.Seq}]
	return ok
}

// dueLocked returns how many leading pending ops are due for the disk:
// those before the first enqueue younger than AckLinger, which an
// acknowledgement may still cancel. When some are held back it also
// returns when the first of them is due (at least minCutGap from now).
// Called with db.mu held.
func (db *DB) dueLocked() (int, time.Duration) {
	now := monoNow()
	cutoff := now - int64(db.opts.AckLinger)
	for i := range db.pending {
		o := &db.pending[i]
		if o.kind == opEnqueue && o.at > cutoff {
			return i, max(time.Duration(o.at-cutoff), minCutGap)
		}
	}
	return len(db.pending), 0
}

// keepRestLocked makes rest, copied into into, the pending slice, and
// re-indexes pendEnq and waiters for it. Called with db.mu held.
func (db *DB) keepRestLocked(into, rest []op) []op {
	into = append(into, rest...)
	clear(db.pendEnq)
	db.waiters = 0
	for i := range into {
		o := &into[i]
		if o.kind == opEnqueue {
			db.pendEnq[entryRef{o.name, o.e.Seq}] = i
		}
		if o.done != nil {
			db.waiters++
		}
	}
	return into
}

// mutation is one key write of a planned batch; skip marks one cancelled
// by a later op of the same batch.
type mutation struct {
	key, val []byte
	del      bool
	skip     bool
}

func (m *mutation) apply(txn *badger.Txn) error {
	if m.del {
		return txn.Delete(m.key)
	}
	return txn.Set(m.key, m.val)
}

type entryRef struct {
	queue string
	seq   uint64
}

// batchPlan is the writer's scratch space, reused across batches.
type batchPlan struct {
	muts    []mutation
	enq     map[entryRef]int // entry set in this batch → index in muts
	upd     map[entryRef]int // entry rewritten by an Update in this batch → index in muts
	bodies  map[uint64]int   // message body set in this batch → index in muts
	appends map[string][]int // stream → indexes of its record sets in muts
	pages   map[entryRef]int // page set in this batch → index in muts
	buf     []byte           // backing store for small values
	sync    bool             // an opSync: sync even when nothing is written
}

// smallEncoded is the largest body whose message the writer encodes into
// the batch's scratch (batchPlan.buf) rather than an allocation of its own.
const smallEncoded = 1 << 10

// maxPlanBuf is the largest scratch kept from one batch to the next.
const maxPlanBuf = 1 << 20

func (p *batchPlan) reset() {
	clear(p.muts)
	p.muts = p.muts[:0]
	if p.enq == nil {
		p.enq = make(map[entryRef]int)
		p.upd = make(map[entryRef]int)
		p.bodies = make(map[uint64]int)
		p.appends = make(map[string][]int)
		p.pages = make(map[entryRef]int)
	}
	clear(p.enq)
	clear(p.upd)
	clear(p.bodies)
	clear(p.appends)
	clear(p.pages)
	p.buf = p.buf[:0]
	if cap(p.buf) > maxPlanBuf {
		p.buf = nil // a burst's scratch is not kept
	}
	p.sync = false
}

func (p *batchPlan) add(m mutation) int {
	p.muts = append(p.muts, m)
	return len(p.muts) - 1
}

// commit plans, writes and syncs one batch, then calls every Done.
func (db *DB) commit(batch []op) {
	p := &db.plan
	p.reset()
	var err error
	for i := range batch {
		if err = db.planOp(&batch[i]); err != nil {
			break
		}
	}
	if err == nil {
		err = db.write(p.muts, needsSync(batch))
	}
	if err != nil {
		err = writeError(err)
		db.log.Error("store batch failed", "ops", len(batch), "err", err)
		// The index may be ahead of the disk: rebuild it from what is there.
		if rerr := db.rebuild(); rerr != nil {
			db.log.Error("store index rebuild failed", "err", rerr)
		}
		db.enterFault(err)
	}
	db.stats.batches.Add(1)
	for i := range batch {
		if batch[i].done != nil {
			batch[i].done(err)
		}
	}
	if db.deletes >= gcAfterDeletes {
		db.deletes = 0
		select {
		case db.gcKick <- struct{}{}:
		default:
		}
	}
}

// needsSync reports whether someone waits for batch to be durable: an op
// with a Done, other than a Written barrier, which waits for the write only.
func needsSync(batch []op) bool {
	for i := range batch {
		if batch[i].done != nil && batch[i].kind != opWritten {
			return true
		}
	}
	return false
}

// write applies the non-skipped mutations in one Badger transaction (more
// when they exceed Badger's transaction limits) and syncs once when durable
// is set. A batch no one waits to be durable for (lease updates, removes,
// deletes behind a Written barrier) is written without a sync: it is in
// the memtable log, a shared mapping whose pages a kill -9 leaves to the
// kernel, and the next durable batch's sync, or the deferred sync within
// defaultSyncAfter, covers it (see deferSync).
//
// A transaction's Commit hands the batch to Badger's write goroutine and
// waits for it; a WriteBatch does the same through one more goroutine
// (its commit callback), which a loaded machine makes a second wake-up
// to wait for on every batch.
func (db *DB) write(muts []mutation, durable bool) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	txn := db.bdb.NewTransaction(true)
	defer func() { txn.Discard() }()
	n := 0
	toVlog := false // a value goes to the value log (Badger's rule: len ≥ threshold)
	for i := range muts {
		m := &muts[i]
		if m.skip {
			continue
		}
		n++
		err := m.apply(txn)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err = txn.Commit(); err != nil {
				return err
			}
			txn = db.bdb.NewTransaction(true)
			err = m.apply(txn)
		}
		if err != nil {
			return err
		}
		if m.del {
			db.deletes++
		} else {
			toVlog = toVlog || int64(len(m.val)) >= db.opts.ValueThreshold
		}
	}
	if n == 0 && !db.plan.sync {
		if durable && db.memUnsynced.Load() {
			return db.syncBatch(false) // a barrier after unsynced writes
		}
		return nil
	}
	start := time.Now()
	defer func() { db.commitLat.observe(time.Since(start)) }()
	if err := txn.Commit(); err != nil {
		return err
	}
	if !durable && !db.plan.sync {
		db.deferSync(toVlog)
		return nil
	}
	return db.syncBatch(toVlog)
}

// defaultSyncAfter bounds how long a written batch stays unsynced when no durable
// batch comes along to sync it (see deferSync).
const defaultSyncAfter = 50 * time.Millisecond

// deferSync records that a batch was written without a sync: the next
// syncBatch syncs the memtable log (and the value log when toVlog, and the
// logs rotated meanwhile, which syncCurrent follows), and the writer syncs
// within defaultSyncAfter if nothing else does.
func (db *DB) deferSync(toVlog bool) {
	if db.opts.InMemory {
		return
	}
	if toVlog {
		db.vlogUnsynced.Store(true)
	}
	db.memUnsynced.Store(true)
	db.stats.unsynced.Add(1)
	select {
	case db.syncKick <- struct{}{}:
	default:
	}
}

// syncDeferred syncs what deferSync left unsynced, if a batch since has
// not. Writer goroutine only.
func (db *DB) syncDeferred() {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	if !db.memUnsynced.Load() {
		return
	}
	if err := db.syncBatch(false); err != nil {
		// The next durable batch syncs again and reports it to its waiters.
		db.log.Error("store deferred sync failed", "err", writeError(err))
		return
	}
	db.stats.deferredSyncs.Add(1)
}

// syncBatch makes a written batch durable: the memtable log always, the
// value log only when the batch wrote to it or an earlier write left it
// unsynced (see vlogUnsynced). The memtable log's sync also covers the
// batches written before without one (see deferSync). A batch of small values (the common case:
// every value under the threshold lives in the memtable log and the
// tree) thus pays one sync instead of two.
func (db *DB) syncBatch(toVlog bool) error {
	if db.opts.InMemory {
		return nil
	}
	if db.vlogUnsynced.Swap(false) {
		toVlog = true
	}
	mem := db.memUnsynced.Swap(false)
	err := db.rotation.syncCurrent(toVlog)
	if err != nil {
		if toVlog {
			db.vlogUnsynced.Store(true)
		}
		if mem {
			db.memUnsynced.Store(true)
		}
	}
	return err
}

func (db *DB) planOp(o *op) error {
	switch o.kind {
	case opEnqueue:
		db.planEnqueue(o)
	case opUpdate:
		db.planUpdate(o.name, o.e)
	case opRemove:
		db.planRemove(o.name, o.e.Seq)
	case opDropQueue:
		for seq := range db.entries[o.name] {
			db.planRemove(o.name, seq)
		}
	case opAppend:
		p := &db.plan
		i := p.add(mutation{key: recordKey(o.name, o.e.Seq), val: o.data})
		p.appends[o.name] = append(p.appends[o.name], i)
	case opSync:
		db.plan.sync = true
	case opTrim:
		return db.planTrim(o.name, o.e.Seq, false)
	case opDropStream:
		return db.planTrim(o.name, math.MaxUint64, true)
	case opStates:
		for _, s := range o.st {
			db.plan.add(mutation{key: recordKeyDef(prefixState, s.NS, s.Key), val: s.Val, del: s.Delete})
		}
	case opPageOut:
		db.planPageOut(o.name, o.e.Seq, o.data)
	case opRemovePaged:
		db.planRemovePaged(o.name, o.e.Seq)
	case opDropPaged:
		return db.planDropPaged(o.name)
	}
	return nil
}

func (db *DB) entryValue(e store.Entry) []byte {
	p := &db.plan
	start := len(p.buf)
	p.buf = appendEntry(p.buf, e)
	return p.buf[start:len(p.buf):len(p.buf)]
}

func (db *DB) planEnqueue(o *op) {
	queue, e := o.name, o.e
	if _, ok := db.entries[queue][e.Seq]; ok {
		db.planRemove(queue, e.Seq) // re-enqueue of a seq replaces it
	}
	p := &db.plan
	db.indexEntry(queue, e.Seq, e.MsgID)
	if db.refs[e.MsgID] == 1 {
		data := o.data
		switch {
		case data != nil || o.msg == nil:
		case len(o.msg.Body) <= smallEncoded:
			start := len(p.buf)
			p.buf = message.Marshal(p.buf, o.msg)
			data = p.buf[start:len(p.buf):len(p.buf)]
		default:
			data = message.Marshal(make([]byte, 0, len(o.msg.Body)+256), o.msg)
		}
		p.bodies[e.MsgID] = p.add(mutation{key: msgKey(e.MsgID), val: data})
	}
	p.enq[entryRef{queue, e.Seq}] = p.add(mutation{key: entryKey(queue, e.Seq), val: db.entryValue(e)})
}

func (db *DB) planUpdate(queue string, e store.Entry) {
	id, ok := db.entries[queue][e.Seq]
	if !ok || (e.MsgID != 0 && e.MsgID != id) {
		// Removed already (never resurrect an entry), or replaced by
		// another message's entry since (a held update, see holdUpdates).
		db.stats.superseded.Add(1)
		return
	}
	e.MsgID = id
	p := &db.plan
	ref := entryRef{queue, e.Seq}
	if i, ok := p.enq[ref]; ok {
		p.muts[i].val = db.entryValue(e)
		return
	}
	if i, ok := p.upd[ref]; ok { // a later lease of the same entry: one write
		p.muts[i].val = db.entryValue(e)
		return
	}
	p.upd[ref] = p.add(mutation{key: entryKey(queue, e.Seq), val: db.entryValue(e)})
}

func (db *DB) planRemove(queue string, seq uint64) {
	q := db.entries[queue]
	id, ok := q[seq]
	if !ok {
		return
	}
	delete(q, seq)
	if len(q) == 0 {
		delete(db.entries, queue)
	}
	p := &db.plan
	ref := entryRef{queue, seq}
	if i, ok := p.upd[ref]; ok {
		// An Update earlier in this batch (a receive's lease) would be
		// written and deleted at once: the delete alone does.
		p.muts[i].skip = true
		delete(p.upd, ref)
		db.stats.superseded.Add(1)
	}
	if i, ok := p.enq[ref]; ok {
		p.muts[i].skip = true
		delete(p.enq, ref)
		db.stats.cancelled.Add(1)
	} else {
		p.add(mutation{key: entryKey(queue, seq), del: true})
	}
	if db.refs[id]--; db.refs[id] > 0 {
		return
	}
	delete(db.refs, id)
	if i, ok := p.bodies[id]; ok {
		p.muts[i].skip = true
		delete(p.bodies, id)
		return
	}
	p.add(mutation{key: msgKey(id), del: true})
}

// planTrim deletes a stream's records below offset: committed ones found by
// a keys-only scan, and appends of this batch. Trim writes a mark holding
// below so StreamBounds keeps the first offset; drop deletes the mark.
func (db *DB) planTrim(stream string, below uint64, drop bool) error {
	p := &db.plan
	for _, i := range p.appends[stream] {
		if _, off, _ := splitSeqKey(prefixRecord, p.muts[i].key); off < below || drop {
			p.muts[i].skip = true
		}
	}
	prefix := namePrefix(prefixRecord, stream)
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) == len(prefix) && !drop {
				continue // the old trim mark: replaced below
			}
			if len(k) == len(prefix)+8 {
				if _, off, _ := splitSeqKey(prefixRecord, k); off >= below && !drop {
					break
				}
			}
			p.add(mutation{key: it.Item().KeyCopy(nil), del: true})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !drop {
		start := len(p.buf)
		p.buf = append(p.buf, byte(below>>56), byte(below>>48), byte(below>>40), byte(below>>32),
			byte(below>>24), byte(below>>16), byte(below>>8), byte(below))
		p.add(mutation{key: prefix, val: p.buf[start:len(p.buf):len(p.buf)]})
	}
	return nil
}
