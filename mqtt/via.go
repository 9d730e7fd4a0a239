package mqtt

import (
	"errors"
	"sync"
	"syscall"

	mochi "github.com/mochi-mqtt/server/v2"
)

// Writes by the publisher's read loop (mochi's Options.WriteVia, patch 12).
//
// mochi queues every PUBLISH a client's publish fans out to the
// subscriber's write queue and wakes the subscriber's write goroutine,
// which writes it with a system call of its own: per message, a wake-up
// and a write. Instead, while nothing is queued to a subscriber, the
// publisher's read loop appends the encoded packet to the subscriber's
// held-back bytes (clientConn.pending, where its acknowledgements wait too)
// and remembers the subscriber; before the read loop next reads from its
// socket (or blocks in a hook: flushHeld), it writes each remembered
// subscriber's bytes in one system call. A burst the publisher sent in one
// segment therefore reaches each subscriber in one write, as the AMQP face
// does with PublishVia.
//
// The publisher never waits for a subscriber: it writes with one
// non-blocking system call, and a subscriber whose socket is full gets the
// rest from a goroutine of its own (flushBlocking), during which new packets for
// it go to its write queue again (with mochi's backpressure, outboundWait).
// Nor does it wait for the subscriber's lock, which a goroutine writing to
// a full socket holds: it leaves that subscriber's packets to the write
// queue (holdFor) or to a goroutine (flushBlocking).
// Order holds: a packet is taken only while the subscriber's queue is
// empty, and every other write to the connection (clientConn.Write, under
// the same lock) writes the held-back bytes first.

// viaMaxPending is the most a subscriber holds back for its publishers;
// beyond it packets go to its write queue, whose writer flushes.
const viaMaxPending = 32 << 10

// viaBufferSize is the size of the pooled buffers that hold a subscriber's
// packets between flushes (an idle connection holds none).
const viaBufferSize = 8 << 10

var viaPool = sync.Pool{New: func() any { b := make([]byte, 0, viaBufferSize); return &b }}

// writeVia is mochi's Options.WriteVia.
func writeVia(via, to *mochi.Client, b []byte) bool {
	pc, sc := connOf(via.Net.Conn), connOf(to.Net.Conn)
	if pc == nil || sc == nil {
		return false
	}
	return pc.holdFor(sc, b)
}

// holdFor appends b to sc's held-back bytes for c's read loop to write, and
// reports whether it did.
func (c *clientConn) holdFor(sc *clientConn, b []byte) bool {
	if !sc.mu.TryLock() {
		// Another goroutine writes to sc (it may wait on a full socket):
		// the write queue takes it, and its writer writes what is held.
		return false
	}
	if sc.slow || sc.noRaw || len(sc.pending)+len(b) > viaMaxPending {
		sc.mu.Unlock()
		return false
	}
	if len(sc.pending)+len(b) > cap(sc.pending) && cap(sc.pending) < viaBufferSize {
		nb := (*viaPool.Get().(*[]byte))[:0]
		sc.pending = append(nb, sc.pending...)
	}
	sc.pending = append(sc.pending, b...)
	register := sc.viaOwner != c
	if register {
		sc.viaOwner = c
	}
	sc.mu.Unlock()
	if register {
		c.viaMu.Lock()
		c.via = append(c.via, sc)
		c.viaMu.Unlock()
	}
	return true
}

// flushVia writes what c's read loop held back for subscribers.
func (c *clientConn) flushVia() {
	c.viaMu.Lock()
	defer c.viaMu.Unlock()
	for i, sc := range c.via {
		sc.flushFrom(c)
		c.via[i] = nil
	}
	if cap(c.via) > 64 {
		c.via = nil
	} else {
		c.via = c.via[:0]
	}
}

// flushFrom writes c's held-back bytes for publisher pc without waiting:
// what the socket does not take at once is written by flushBlocking.
func (c *clientConn) flushFrom(pc *clientConn) {
	if !c.mu.TryLock() {
		// Another goroutine writes to c (it may wait on a full socket):
		// one of our own writes what it leaves held.
		go c.flushBlocking(pc)
		return
	}
	defer c.mu.Unlock()
	if c.viaOwner == pc {
		c.viaOwner = nil
	}
	if len(c.pending) == 0 || c.slow {
		return
	}
	n, err := c.tryWrite(c.pending)
	if err != nil {
		c.releasePending() // a broken connection: its read loop ends on it too
		return
	}
	if n == len(c.pending) {
		c.releasePending()
		return
	}
	c.pending = c.pending[:copy(c.pending, c.pending[n:])]
	c.slow = true
	go c.flushBlocking(nil)
}

// flushBlocking writes the held-back bytes, waiting its turn and as long as
// the socket takes (or until the write deadline): for a subscriber that
// another goroutine was writing to when pc's read loop flushed (pc's hold
// on it ends), or, with pc nil, one whose socket was full (slow).
func (c *clientConn) flushBlocking(pc *clientConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pc != nil && c.viaOwner == pc {
		c.viaOwner = nil
	}
	c.slow = false
	if len(c.pending) > 0 {
		_ = c.flushLocked()
	}
}

// tryWrite writes b with one non-blocking system call and returns how much
// the socket took (only for a plain TCP socket: see noRaw).
func (c *clientConn) tryWrite(b []byte) (int, error) {
	var n int
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if !errors.Is(werr, syscall.EINTR) {
				return true
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if werr != nil {
		if errors.Is(werr, syscall.EAGAIN) {
			return 0, nil
		}
		return 0, werr
	}
	return max(n, 0), nil
}

// releasePending empties the held-back bytes, returning a pooled buffer:
// everything is written, so a slow subscriber is one no more (flushBlocking,
// if still to run, finds nothing to write). c.mu is held.
func (c *clientConn) releasePending() {
	c.slow = false
	if cap(c.pending) == viaBufferSize {
		b := c.pending[:0]
		viaPool.Put(&b)
		c.pending = nil
		return
	}
	if cap(c.pending) > maxHeldCap {
		c.pending = nil
		return
	}
	c.pending = c.pending[:0]
}

// holding reports whether c's read loop holds packets back: for the
// subscribers it wrote to (via) or acknowledgements of its own.
func (c *clientConn) holding() bool {
	if c.noRaw {
		return false
	}
	c.viaMu.Lock()
	n := len(c.via)
	c.viaMu.Unlock()
	if n > 0 {
		return true
	}
	c.mu.Lock()
	n = len(c.pending)
	c.mu.Unlock()
	return n > 0 && n < viaBufferSize // a client sending without pause still gets its acknowledgements
}

// readNoWait reads what the socket has at once (one non-blocking system
// call) into a pooled buffer and serves p from it, as readPooled does. It
// reports false if the socket had nothing, or an error (which the next,
// ordinary, read reports).
func (c *clientConn) readNoWait(p []byte) (int, bool) {
	b := readPool.Get().(*[]byte)
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), *b)
			if !errors.Is(rerr, syscall.EINTR) {
				return true
			}
		}
	})
	if err != nil || rerr != nil || n <= 0 {
		readPool.Put(b)
		return 0, false
	}
	c.checkSize((*b)[:n])
	c.busy = n == len(*b)
	c.drained = false
	m := copy(p, (*b)[:n])
	if m < n {
		c.rbuf, c.rpos, c.rend = b, m, n
	} else {
		readPool.Put(b)
	}
	return m, true
}
