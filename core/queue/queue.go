package queue

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/store"
	"github.com/junctionmq/junction/core/tally"
)

// Options are Junction's queue settings that do not come from AMQP
// arguments (the SQS face sets them from queue attributes). SetOptions
// changes them, except FIFO, after declaration.
type Options struct {
	DefaultDelay    time.Duration // SQS DelaySeconds: messages without DelayUntil wait this long
	FIFO            bool          // message groups: a group is blocked while one of its messages is in flight
	DedupWindow     time.Duration // a DedupID seen within this window is a Duplicate (SQS FIFO: 5 min)
	Retention       time.Duration // messages older than this (from Arrived) are dropped; 0 = forever
	MaxReceiveCount uint32        // SQS redrive: a receive beyond this moves the message; 0 = none
	RedriveTarget   string        // queue the redrive moves to (routed by the default exchange); "" = dead-letter exchange
}

// Config declares a queue.
type Config struct {
	Name       string
	Vhost      string
	Key        string // the store key (vhost and name joined by the broker)
	Durable    bool
	Exclusive  bool
	Owner      any // exclusive owner token (the AMQP connection), compared with ==
	AutoDelete bool
	Args       Args
	Options    Options
}

// Validate checks properties that depend on the queue type, with
// RabbitMQ's error text (quorum queues must be durable, not exclusive,
// not auto-delete).
func (c *Config) Validate() error {
	if c.Args.Type != Quorum {
		return nil
	}
	prop := ""
	switch {
	case !c.Durable:
		prop = "non-durable"
	case c.Exclusive:
		prop = "exclusive-owner"
	case c.AutoDelete:
		prop = "auto-delete"
	default:
		return nil
	}
	return &ArgError{Kind: PropertyInvalid, Arg: prop, Queue: c.Name, Vhost: c.Vhost}
}

// Deps are what a queue calls out to. Every callback is made with no queue
// lock held, so it may call back into queues (including this one).
type Deps struct {
	Store store.Store // nil: nothing is durable
	Clock Clock       // nil: SystemClock
	// DeadLetter republishes a dead-lettered message (a new message with
	// x-death headers) to exchange with routingKey. nil: dropped.
	DeadLetter func(m *message.Message, exchange, routingKey string)
	// OnExpire is called once when x-expires finds the queue unused; the
	// owner deletes it.
	OnExpire func(q *Queue)
	// OnAutoDelete is called once when the last consumer of an auto-delete
	// queue cancels; the owner deletes it.
	OnAutoDelete func(q *Queue)
	// Tally counts the messages the queue drops instead of delivering or
	// dead-lettering, under the face each entered through. nil: not
	// counted.
	Tally *tally.Faces
}

// Publishing is one message offered to a queue by the router.
type Publishing struct {
	Msg  *message.Message
	Data []byte // encoded Msg; set by the router only when Msg is persistent
	// Encode, with Data nil, asks for Msg to be stored as Data would be,
	// encoded only when the store writes it (store.MessageEnqueuer).
	Encode bool
	Done   store.Done // see Publish
	// Via is the publisher's token, handed to the deliveries this
	// Publish makes itself (Delivery.Via); nil: none.
	Via any
}

// Result is the outcome of a Publish.
type Result uint8

// The publish results.
const (
	Enqueued  Result = iota // accepted (see Publish for when it is durable)
	Duplicate               // dedup window hit: not enqueued, counts as success for SQS (see Deduplicated)
	Rejected                // full with x-overflow reject-publish(-dlx): nack the publisher
	Dropped                 // the queue is deleted: the message went nowhere
)

// Queue is the core's queue. All methods are safe for concurrent use.
type Queue struct {
	cfg    Config
	deps   Deps
	clock  Clock
	pager  store.Pager // Deps.Store when it can page (page.go); nil: no paging
	levels int         // ready levels: 1, 2 (quorum priorities) or MaxPriority+1
	timed  bool        // messages need the clock at publish (TTL, delay, dedup, retention)

	mu        sync.Mutex // guards everything below
	deleted   bool
	nextSeq   uint64
	ready     []deque           // by priority level, highest last
	nready    int               // ready messages
	readyB    int               // ready message bytes
	bytes     int               // all message bytes
	inflight  map[uint64]*entry // unacked and leased, by seq
	nleased   int
	timers    timerHeap // delayed and leased entries
	ndelayed  int
	pool      pool
	subs      []*Subscription // by priority, highest first; round-robin within a priority
	active    *Subscription   // single active consumer
	nsubs     uint64          // subscriptions ever registered
	excl      bool            // an exclusive consumer holds the queue
	everSub   bool            // ever had a consumer (auto-delete)
	waiters   []*waiter       // blocked GetWait / LeaseWait calls, oldest first
	groups    map[string]*group
	batch     uint64 // last lease batch id
	dedup     map[string]dedupHit
	dedupLog  []dedupRec
	lastUsed  int64 // unix nanos of the last consume, cancel, get or Touch
	expired   bool  // OnExpire was called
	timer     Timer
	timerAt   int64    // deadline the timer is armed for; 0 = unarmed
	onTimerFn func()   // q.onTimer, bound once
	pending   []func() // callbacks to run once the lock is released
	via       any      // Publishing.Via while Publish dispatches
	pageKey   string   // the store key of the queue's pages; "" until it first pages
	npaged    int      // ready stubs whose message is paged out
	pagedB    int      // their bytes
	pageLost  int      // stubs dropped because the store could not read them back
	pagingOut bool     // a PageOut is running
	counts    Counts   // message totals for the management API's rates (inspect.go)

	// congestion is the channel Congested returns while the queue is
	// congested (see flow.go); written under mu, read without it.
	congestion atomic.Pointer[chan struct{}]
	flow       flowState
}

// group is a FIFO message group's in-flight state.
type group struct {
	inflight int
	batch    uint64 // the lease batch that may keep taking from the group
}

type dedupRec struct {
	id string
	at int64 // expiry
}

// dedupHit is a deduplication id's window and the message first published
// with it.
type dedupHit struct {
	at   int64 // expiry
	orig Original
}

// Original is the message a deduplication id was first published with:
// what a Duplicate publish is answered with (SQS returns the first
// message's MessageId and SequenceNumber).
type Original struct {
	ID        uint64 // message.Message.ID
	MessageID string // the message-id property (SQS MessageId)
}

// New creates a queue. Recover loads its durable messages.
func New(cfg Config, deps Deps) *Queue {
	q := &Queue{cfg: cfg, deps: deps, clock: deps.Clock, nextSeq: 1,
		inflight: make(map[uint64]*entry), pager: pagerOf(deps.Store)}
	if q.clock == nil {
		q.clock = SystemClock{}
	}
	switch {
	case cfg.Args.Type == Quorum:
		q.levels = 2
	case cfg.Args.MaxPriority > 0:
		q.levels = int(cfg.Args.MaxPriority) + 1
	default:
		q.levels = 1
	}
	q.ready = make([]deque, q.levels)
	o := cfg.Options
	q.timed = cfg.Args.MessageTTL >= 0 || o.DefaultDelay > 0 || o.DedupWindow > 0 || o.Retention > 0
	q.onTimerFn = q.onTimer
	q.lastUsed = q.clock.Now().UnixNano()
	if cfg.Args.Expires > 0 {
		q.mu.Lock()
		q.arm(q.lastUsed + int64(cfg.Args.Expires))
		q.mu.Unlock()
	}
	return q
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.cfg.Name }

// Durable reports whether the queue survives a restart (it never changes).
func (q *Queue) Durable() bool { return q.cfg.Durable }

// Config returns the queue's declaration, with its current Options.
func (q *Queue) Config() Config {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cfg
}

// level is the ready level for a message priority.
func (q *Queue) level(p uint8) uint8 {
	switch {
	case q.levels == 1:
		return 0
	case q.cfg.Args.Type == Quorum: // RabbitMQ 4: priorities above 4 are high
		if p > 4 {
			return 1
		}
		return 0
	}
	return min(p, uint8(q.levels-1))
}

// Publish offers a message to the queue. When the queue is durable and the
// message persistent (and Data set), the queue submits it to the store
// before making it visible and the store calls p.Done once it is on disk;
// otherwise the queue calls p.Done(nil) itself before returning. Done is
// called only for Enqueued: for any other Result the caller acts on the
// Result and Done is never called.
func (q *Queue) Publish(p Publishing) Result {
	m := p.Msg
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return Dropped
	}
	var now int64
	if q.timed || m.DelayUntil != 0 || m.Props.Flags&message.FlagExpiration != 0 {
		now = q.clock.Now().UnixNano()
	}
	if r := q.admit(m, now); r != Enqueued {
		q.unlock()
		return r
	}
	e := q.pool.get()
	e.seq, e.msg, e.size = q.nextSeq, m, m.Size()
	q.nextSeq++
	e.prio = q.level(m.Props.Priority)
	e.expires = q.expiry(m, now)
	q.bytes += e.size
	nb := m.DelayUntil
	if nb == 0 && q.cfg.Options.DefaultDelay > 0 {
		nb = now + int64(q.cfg.Options.DefaultDelay)
	}
	if nb > now {
		e.state, e.notBefore = stDelayed, nb
	}
	if q.cfg.Durable && (p.Data != nil || p.Encode) && m.Props.Persistent() && q.deps.Store != nil {
		e.persisted = true
		q.persist(e, p)
	}
	if nb > now {
		q.ndelayed++
		q.timers.push(e)
		q.arm(nb)
	} else {
		q.pushReady(e)
		q.via = p.Via
		q.dispatch(now)
		q.via = nil
		q.enforceLimits(now)
	}
	q.counts.Published++
	persisted := e.persisted
	q.unlock()
	if !persisted && p.Done != nil {
		p.Done(nil)
	}
	return Enqueued
}

// persist submits the durable enqueue of e, encoding its message now only
// when the store cannot do it later (see Publishing.Encode).
func (q *Queue) persist(e *entry, p Publishing) {
	if p.Data == nil {
		if me, ok := q.deps.Store.(store.MessageEnqueuer); ok {
			me.EnqueueMessage(q.cfg.Key, q.storeEntry(e), p.Msg, p.Done)
			return
		}
		p.Data = message.Marshal(nil, p.Msg)
	}
	q.deps.Store.Enqueue(q.cfg.Key, q.storeEntry(e), p.Data, p.Done)
}

// admit applies the dedup window and reject-publish overflow.
func (q *Queue) admit(m *message.Message, now int64) Result {
	if w := q.cfg.Options.DedupWindow; w > 0 && m.DedupID != "" {
		q.pruneDedup(now)
		if h, ok := q.dedup[m.DedupID]; ok && h.at > now {
			return Duplicate
		}
		q.remember(m, now+int64(w))
	}
	a := &q.cfg.Args
	if a.Overflow == DropHead {
		return Enqueued
	}
	full := (a.MaxLength >= 0 && int64(q.nready) >= a.MaxLength) ||
		(a.MaxLengthBytes >= 0 && int64(q.readyB+m.Size()) > a.MaxLengthBytes)
	if !full {
		return Enqueued
	}
	if a.Overflow == RejectPublishDLX {
		q.deadLetterMsg(m, reasonMaxlen, now)
	} else {
		q.dropped(m, reasonMaxlen)
	}
	return Rejected
}

// remember opens m's deduplication window until at.
func (q *Queue) remember(m *message.Message, at int64) {
	if q.dedup == nil {
		q.dedup = make(map[string]dedupHit)
	}
	q.dedup[m.DedupID] = dedupHit{at: at, orig: Original{ID: m.ID, MessageID: m.Props.MessageID}}
	q.dedupLog = append(q.dedupLog, dedupRec{m.DedupID, at})
}

// Deduplicated returns the message first published with dedupID while its
// deduplication window is open. A publisher that got Duplicate (or whose
// message's ID differs from Original.ID) answers with the original.
func (q *Queue) Deduplicated(dedupID string) (Original, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	h, ok := q.dedup[dedupID]
	if !ok || h.at <= q.clock.Now().UnixNano() {
		return Original{}, false
	}
	return h.orig, true
}

// pruneDedup forgets dedup ids whose window has passed.
func (q *Queue) pruneDedup(now int64) {
	i := 0
	for ; i < len(q.dedupLog) && q.dedupLog[i].at <= now; i++ {
		r := q.dedupLog[i]
		if q.dedup[r.id].at == r.at {
			delete(q.dedup, r.id)
		}
	}
	if i > 0 {
		q.dedupLog = append(q.dedupLog[:0], q.dedupLog[i:]...)
	}
}

// expiry is when a message published at now expires in this queue by
// time to live: the smaller of x-message-ttl and the message's expiration.
// Retention is applied separately (deadline), so that SetOptions can
// change it for messages already queued.
func (q *Queue) expiry(m *message.Message, now int64) int64 {
	var at int64
	earliest := func(t int64) {
		if at == 0 || t < at {
			at = t
		}
	}
	if ttl := q.cfg.Args.MessageTTL; ttl >= 0 {
		earliest(now + int64(ttl))
	}
	if m.Props.Flags&message.FlagExpiration != 0 {
		if ms, err := strconv.ParseInt(m.Props.Expiration, 10, 64); err == nil && ms >= 0 {
			earliest(now + ms*int64(time.Millisecond))
		}
	}
	return at
}

// deadline is when e expires: its time to live or the queue's retention
// (from the message's arrival), whichever comes first; 0 = never.
func (q *Queue) deadline(e *entry) int64 {
	at := e.expires
	if r := q.cfg.Options.Retention; r > 0 {
		arrived := e.arrived // a stub's (page.go)
		if e.msg != nil {
			arrived = e.msg.Arrived
		}
		if ra := arrived + int64(r); arrived > 0 && (at == 0 || ra < at) {
			at = ra
		}
	}
	return at
}

// storeEntry is e as the store records it.
func (q *Queue) storeEntry(e *entry) store.Entry {
	nb := e.notBefore
	if e.state == stReady || e.state == stUnacked {
		nb = 0
	}
	return store.Entry{Seq: e.seq, MsgID: e.msg.ID, DeliveryCount: e.deliveries,
		NotBefore: nb, Priority: e.msg.Props.Priority, FirstReceived: e.firstRecv}
}

// pushReady makes e ready at its seq position.
func (q *Queue) pushReady(e *entry) {
	e.state = stReady
	d := &q.ready[e.prio]
	if d.n == 0 || d.at(d.n-1).seq < e.seq {
		d.pushBack(e)
	} else {
		d.insert(e)
	}
	q.nready++
	q.readyB += e.size
	if at := q.deadline(e); at != 0 {
		q.arm(at + 1)
	}
}

// enforceLimits drops heads (reason maxlen) while the queue is over
// x-max-length or x-max-length-bytes in drop-head mode.
func (q *Queue) enforceLimits(now int64) {
	a := &q.cfg.Args
	if a.Overflow != DropHead {
		return
	}
	for q.nready > 0 && ((a.MaxLength >= 0 && int64(q.nready) > a.MaxLength) ||
		(a.MaxLengthBytes >= 0 && int64(q.readyB) > a.MaxLengthBytes)) {
		e := q.popHead()
		q.deadLetter(e, reasonMaxlen, now)
	}
}

// popHead removes the next ready entry in delivery order, ignoring groups.
func (q *Queue) popHead() *entry {
	for l := len(q.ready) - 1; l >= 0; l-- {
		if q.ready[l].n > 0 {
			e := q.ready[l].popFront()
			q.nready--
			q.readyB -= e.size
			return e
		}
	}
	return nil
}

// release forgets e: the store entry too when it is persisted, its page
// when it is a stub.
func (q *Queue) release(e *entry) {
	if e.persisted {
		q.deps.Store.Remove(q.cfg.Key, e.seq, nil)
	} else if e.msg == nil {
		q.unpage(e)
	}
	q.bytes -= e.size
	q.pool.put(e)
}

// unlock releases q.mu and runs the callbacks queued under it.
func (q *Queue) unlock() {
	q.updateFlow()
	if len(q.pending) == 0 {
		q.mu.Unlock()
		return
	}
	fns := q.pending
	q.pending = nil
	q.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// Stats are a queue's counters.
type Stats struct {
	Ready      int // deliverable now (AMQP message count)
	Unacked    int // delivered to consumers or by Get, unsettled
	Leased     int // leased and invisible (SQS in flight)
	Delayed    int // not visible yet
	Consumers  int
	Bytes      int // bodies of every message the queue holds
	ReadyBytes int
	// PagedOut counts ready messages whose bodies are paged out to the
	// store while memory runs short (PageOut), PagedOutBytes their bytes.
	PagedOut      int
	PagedOutBytes int
	PageLost      int // paged messages dropped because the store could not read them back
}

// MemoryBytes is the bytes of the bodies held in memory: Bytes less
// PagedOutBytes.
func (s Stats) MemoryBytes() int { return s.Bytes - s.PagedOutBytes }

// Stats returns the queue's counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Stats{Ready: q.nready, Unacked: len(q.inflight) - q.nleased, Leased: q.nleased,
		Delayed: q.ndelayed, Consumers: len(q.subs), Bytes: q.bytes, ReadyBytes: q.readyB,
		PagedOut: q.npaged, PagedOutBytes: q.pagedB, PageLost: q.pageLost}
}

// Purge removes every ready message (not unacked, leased or delayed ones,
// as RabbitMQ's queue.purge) and returns how many.
func (q *Queue) Purge() (int, error) {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return 0, ErrDeleted
	}
	n := q.nready
	for e := q.popHead(); e != nil; e = q.popHead() {
		q.release(e)
	}
	return n, nil
}

// Touch marks the queue used (a redeclare), restarting x-expires.
func (q *Queue) Touch() {
	q.mu.Lock()
	defer q.unlock()
	q.touch(q.clock.Now().UnixNano())
}

func (q *Queue) touch(now int64) {
	q.lastUsed = now
	if e := q.cfg.Args.Expires; e > 0 && len(q.subs) == 0 {
		q.arm(now + int64(e))
	}
}
