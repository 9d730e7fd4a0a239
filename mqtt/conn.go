package mqtt

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// clientConn is the net.Conn mochi reads and writes one client through, and
// the face's state for that connection (it lives exactly as long as the
// connection, and mochi's Client reaches it as cl.Net.Conn).
//
// Write coalescing: mochi writes each acknowledgement (PUBACK, PUBREC,
// PUBREL, PUBCOMP) from the client's read loop with one write system call
// each. clientConn holds such a packet back while the read loop is busy
// (not inside Read) and writes everything held in one system call when the
// read loop next reads from the socket, or together with the next other
// write. A read loop that finished its buffered packets always reads next,
// so nothing is held for longer than the processing of the packets already
// read; hooks that block the read loop (OnPublish's waits) call flush first.
type clientConn struct {
	net.Conn

	mu      sync.Mutex // guards pending and reading; held across the write that flushes
	pending []byte     // acknowledgements held back
	reading bool       // the read loop is inside Read

	// vhost and user are the authenticated identity (set once by
	// authenticate, before any publish or subscribe of the connection).
	vhost, user string
	roots       vhostRoots // the vhost's topic roots (vhost.go)
	acl         aclCache
	stalled     atomic.Bool // outboundWait gave up on this subscriber
	ackStalled  atomic.Bool // inflightWait gave up on this subscriber

	// The last topic the client published to, rooted and as a routing
	// key (read loop only; rootTopic, coreKey).
	lastTopic, lastRooted, lastKey string

	// The core's confirm of the read loop's current publish (confirmOf;
	// read loop only, made at the first QoS 1/2 publish).
	acked   chan bool
	confirm func(bool)

	// Limits (limits.go).
	maxPacket uint32                 // Config.MaxPacketSize; 0: not checked here
	guard     sizeGuard              // packet boundaries seen by Read
	large     atomic.Bool            // a packet too large arrived
	tooLarge  *atomic.Int64          // counts those (Stats.PacketsTooLarge)
	v5        atomic.Bool            // the client speaks MQTT 5 (set by OnConnect)
	rate      tokenBucket            // publish rate limit (read loop only)
	slot      atomic.Bool            // holds one of Config.MaxConnections
	release   func()                 // gives the slot back
	counted   atomic.Pointer[func()] // uncounts the connection from its user and vhost (core.Broker.OpenConnection)

	// Writes for subscribers by this read loop (via.go).
	viaMu    sync.Mutex      // guards via
	via      []*clientConn   // subscribers holding packets this read loop writes next
	viaOwner *clientConn     // the publisher that writes this connection's held packets next (guarded by mu)
	slow     bool            // flushBlocking is writing (guarded by mu)
	noRaw    bool            // not a plain TCP socket: nothing is held for publishers (set at creation)
	raw      syscall.RawConn // the socket, for non-blocking writes (guarded by mu; made at the first)

	// Read buffering (read loop only; see Read).
	rbuf       *[]byte // a pooled buffer with bytes not yet read, or nil
	rpos, rend int     // the unread bytes of rbuf
	busy       bool    // the last socket read filled its buffer
	drained    bool    // the last socket read returned data without filling its buffer
}

// Read buffering and idle memory. mochi reads a client through a
// bufio.Reader of mochiReadBuffer bytes, which it keeps for the life of the
// connection. clientConn does the bulk buffering instead: while a client
// keeps sending (the last socket read filled its buffer), it reads the
// socket into a pooled buffer of readBufferSize bytes and serves mochi from
// it; once that buffer is drained it goes back to the pool, and the next
// socket read goes straight into mochi's small buffer. An idle connection
// therefore waits for its next packet holding no large buffer, and a busy
// one reads up to readBufferSize bytes per system call.
const (
	mochiReadBuffer = 256
	readBufferSize  = 16 << 10
)

var readPool = sync.Pool{New: func() any { b := make([]byte, readBufferSize); return &b }}

// maxHeldCap is the largest held-back buffer kept between flushes (idle
// connections keep none bigger).
const maxHeldCap = 512

func newClientConn(c net.Conn) *clientConn {
	cc := &clientConn{Conn: c, noRaw: true}
	if tc, ok := c.(*net.TCPConn); ok {
		// via.go reads and writes plain TCP sockets without waiting.
		if raw, err := tc.SyscallConn(); err == nil {
			cc.raw, cc.noRaw = raw, false
		}
	}
	return cc
}

// Read serves what the pooled buffer holds; otherwise it flushes what is
// held back, then reads from the socket.
func (c *clientConn) Read(p []byte) (int, error) {
	if c.rbuf != nil {
		return c.readBuffered(p), nil
	}
	if c.holding() {
		// Packets are held back for subscribers or this client: while
		// the client has sent more, read it first (the held packets go
		// out in larger writes, once the socket has nothing more).
		if n, ok := c.readNoWait(p); ok {
			return n, nil
		}
	}
	c.flushVia()
	if err := c.startReading(); err != nil {
		return 0, err
	}
	if c.drained {
		// The last socket read took everything the client had sent: let
		// the goroutines its packets woke (subscribers' writers) run
		// first, so that this read finds more of the client's packets
		// (fewer reads and waits on the poller per message).
		runtime.Gosched()
	}
	n, err := c.readSocket(p)
	c.drained = n > 0 && !c.busy
	c.stopReading()
	return n, err
}

// The helpers of Read are functions of their own, so that an idle client
// waits in Read with a small frame (issue 5: the goroutine's stack shrinks
// to 4 KiB only if less than about 1.2 KiB of it is in use).

// readBuffered serves p from the pooled buffer.
//
//go:noinline
func (c *clientConn) readBuffered(p []byte) int {
	n := copy(p, (*c.rbuf)[c.rpos:c.rend])
	if c.rpos += n; c.rpos == c.rend {
		readPool.Put(c.rbuf)
		c.rbuf = nil
	}
	return n
}

// startReading flushes what is held back and marks the read loop reading.
//
//go:noinline
func (c *clientConn) startReading() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) > 0 {
		if err := c.flushLocked(); err != nil {
			return err
		}
	}
	c.reading = true
	return nil
}

//go:noinline
func (c *clientConn) stopReading() {
	c.mu.Lock()
	c.reading = false
	c.mu.Unlock()
}

// readSocket reads from the socket: into a pooled buffer while the client
// is busy (the rest is kept for the next Reads), else straight into p.
func (c *clientConn) readSocket(p []byte) (int, error) {
	if !c.busy || len(p) >= readBufferSize {
		n, err := c.Conn.Read(p)
		c.checkSize(p[:n])
		c.busy = n == len(p) && n > 0
		return n, err
	}
	return c.readPooled(p)
}

// readPooled is readSocket's busy path. (A function of its own: an idle
// client waits in readSocket's other path, with a smaller frame.)
//
//go:noinline
func (c *clientConn) readPooled(p []byte) (int, error) {
	b := readPool.Get().(*[]byte)
	n, err := c.Conn.Read(*b)
	c.checkSize((*b)[:n])
	c.busy = n == len(*b)
	m := copy(p, (*b)[:n])
	if m < n {
		// An error comes again on the next socket read, once the
		// buffered bytes are read.
		c.rbuf, c.rpos, c.rend = b, m, n
		return m, nil
	}
	readPool.Put(b)
	return m, err
}

// Write holds an acknowledgement back while the read loop is busy; any other
// write goes out at once, after what is held back, in one system call.
func (c *clientConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.reading && isAck(b) {
		c.pending = append(c.pending, b...)
		return len(b), nil
	}
	if len(c.pending) == 0 {
		return c.Conn.Write(b)
	}
	c.pending = append(c.pending, b...)
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return len(b), nil
}

// flush writes what is held back.
func (c *clientConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) == 0 {
		return nil
	}
	return c.flushLocked()
}

func (c *clientConn) flushLocked() error {
	_, err := c.Conn.Write(c.pending)
	c.releasePending()
	return err
}

// Close writes what is held back (best effort) and closes the connection.
func (c *clientConn) Close() error {
	c.flushVia()
	if c.flush() != nil {
		// The connection is broken: close it anyway.
		c.mu.Lock()
		c.pending = nil
		c.mu.Unlock()
	}
	if c.slot.Swap(false) && c.release != nil {
		c.release()
	}
	if r := c.counted.Swap(nil); r != nil {
		(*r)()
	}
	if c.large.Load() && c.v5.Load() {
		return lingerClose(c.Conn)
	}
	return c.Conn.Close()
}

// SetDeadline and friends pass through (embedded); a write deadline also
// bounds flushes, which happen inside Read and Write.
var _ net.Conn = (*clientConn)(nil)

// isAck reports whether b is exactly one small PUBACK, PUBREC, PUBREL or
// PUBCOMP packet (remaining length under 128, so one length byte).
func isAck(b []byte) bool {
	if len(b) < 2 || b[1] >= 0x80 || int(b[1])+2 != len(b) {
		return false
	}
	switch b[0] >> 4 {
	case packets.Puback, packets.Pubrec, packets.Pubrel, packets.Pubcomp:
		return true
	}
	return false
}

// connOf returns the face's connection of a client, or nil (the inline
// client, a session restored from the store that has not reconnected).
func connOf(c net.Conn) *clientConn {
	cc, _ := c.(*clientConn)
	return cc
}

// underlying returns the connection clientConn wraps, or c itself.
func underlying(c net.Conn) net.Conn {
	if cc, ok := c.(*clientConn); ok {
		return cc.Conn
	}
	return c
}

// aclCache remembers a connection's authorisation decisions per topic, as
// RabbitMQ's MQTT plugin caches topic permission checks per connection:
// permission changes apply to new connections.
type aclCache struct {
	mu    sync.Mutex // guards read and write
	read  map[string]bool
	write map[string]bool
}

// maxACLEntries bounds each of a connection's decision maps; a full map is
// cleared.
const maxACLEntries = 64

func (a *aclCache) get(topic string, write bool) (allowed, ok bool) {
	a.mu.Lock()
	m := a.read
	if write {
		m = a.write
	}
	allowed, ok = m[topic]
	a.mu.Unlock()
	return allowed, ok
}

func (a *aclCache) put(topic string, write, allowed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := &a.read
	if write {
		m = &a.write
	}
	if *m == nil || len(*m) >= maxACLEntries {
		*m = make(map[string]bool, 4)
	}
	(*m)[topic] = allowed
}

// stallTimeout is how long a publisher waits for a subscriber's outbound
// queue to drain (outboundWait) before the copy is dropped and counted.
const stallTimeout = 5 * time.Second
