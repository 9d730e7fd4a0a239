package queue

import "github.com/junctionmq/junction/core/message"

// status is where an entry is.
type status uint8

const (
	stReady   status = iota // in a ready level, deliverable
	stUnacked               // delivered to a consumer or by Get, awaiting ack
	stLeased                // leased (SQS receive) until notBefore
	stDelayed               // not visible before notBefore
)

// entry is one message in one queue. Entries are recycled through the
// queue's free list, so the transient hot path allocates none.
type entry struct {
	seq         uint64
	msg         *message.Message
	size        int
	expires     int64  // unix nanos after which the ready message is expired by TTL; 0 = never (see Queue.deadline)
	notBefore   int64  // leased or delayed until (unix nanos)
	firstRecv   int64  // unix nanos of the first lease (SQS receive); 0 = never leased
	deliveries  uint32 // deliveries so far
	prio        uint8  // ready level index
	state       status
	redelivered bool          // recovered after delivery, or requeued
	persisted   bool          // the store holds it
	sub         *Subscription // holder while stUnacked by a consumer
	hidx        int           // index in the timer heap, -1 when not in it
	batch       uint64        // lease batch that took it (FIFO groups)
	arrived     int64         // msg.Arrived of a stub, whose msg is nil (paged out: page.go)
}

// entryChunk is how many entries the free list allocates at once.
const entryChunk = 64

// pool is a free list of entries.
type pool struct {
	free []*entry
}

func (p *pool) get() *entry {
	if len(p.free) == 0 {
		chunk := make([]entry, entryChunk)
		for i := range chunk {
			p.free = append(p.free, &chunk[i])
		}
	}
	e := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	e.hidx = -1
	return e
}

func (p *pool) put(e *entry) {
	*e = entry{hidx: -1}
	if len(p.free) < 16*entryChunk { // keep a backlog's worth; let bursts go to the GC
		p.free = append(p.free, e)
	}
}

// deque is a ring buffer of entries kept in seq order: publishes append,
// requeues and expired leases go back to their original position.
type deque struct {
	buf  []*entry // len is 0 or a power of two
	head int
	n    int
}

func (d *deque) len() int { return d.n }

func (d *deque) at(i int) *entry { return d.buf[(d.head+i)&(len(d.buf)-1)] }

func (d *deque) set(i int, e *entry) { d.buf[(d.head+i)&(len(d.buf)-1)] = e }

func (d *deque) grow() {
	if d.n < len(d.buf) {
		return
	}
	size := max(2*len(d.buf), 16)
	buf := make([]*entry, size)
	for i := 0; i < d.n; i++ {
		buf[i] = d.at(i)
	}
	d.buf, d.head = buf, 0
}

func (d *deque) pushBack(e *entry) {
	d.grow()
	d.set(d.n, e)
	d.n++
}

func (d *deque) popFront() *entry {
	e := d.at(0)
	d.set(0, nil)
	d.head = (d.head + 1) & (len(d.buf) - 1)
	d.n--
	return e
}

// insert puts e at its seq position.
func (d *deque) insert(e *entry) {
	lo, hi := 0, d.n
	for lo < hi {
		mid := (lo + hi) / 2
		if d.at(mid).seq < e.seq {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	d.grow()
	if lo < d.n/2 { // shift the front part one slot left
		d.head = (d.head - 1) & (len(d.buf) - 1)
		for i := 0; i < lo; i++ {
			d.set(i, d.at(i+1))
		}
	} else { // shift the back part one slot right
		for i := d.n; i > lo; i-- {
			d.set(i, d.at(i-1))
		}
	}
	d.set(lo, e)
	d.n++
}

// find returns the index of the entry with seq, or -1 (entries are in seq
// order).
func (d *deque) find(seq uint64) int {
	lo, hi := 0, d.n
	for lo < hi {
		mid := (lo + hi) / 2
		if d.at(mid).seq < seq {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < d.n && d.at(lo).seq == seq {
		return lo
	}
	return -1
}

// removeAt removes and returns the i-th entry.
func (d *deque) removeAt(i int) *entry {
	e := d.at(i)
	if i < d.n/2 {
		for j := i; j > 0; j-- {
			d.set(j, d.at(j-1))
		}
		d.set(0, nil)
		d.head = (d.head + 1) & (len(d.buf) - 1)
	} else {
		for j := i; j < d.n-1; j++ {
			d.set(j, d.at(j+1))
		}
		d.set(d.n-1, nil)
	}
	d.n--
	return e
}

// timerHeap orders delayed and leased entries by notBefore.
type timerHeap []*entry

func (h timerHeap) less(i, j int) bool { return h[i].notBefore < h[j].notBefore }

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}

func (h *timerHeap) push(e *entry) {
	e.hidx = len(*h)
	*h = append(*h, e)
	h.up(e.hidx)
}

// remove takes e out of the heap.
func (h *timerHeap) remove(e *entry) {
	i, last := e.hidx, len(*h)-1
	if i < 0 {
		return
	}
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	e.hidx = -1
	if i != last {
		h.fix(i)
	}
}

// fix restores order after h[i].notBefore changed.
func (h timerHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h timerHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h timerHeap) down(i0 int) bool {
	i := i0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		j := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
