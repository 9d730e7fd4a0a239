package amqp

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// conn is one AMQP connection. The reader goroutine (serve) owns every
// field not listed under wmu; the writer goroutine (writeLoop) owns the
// socket's write side.
type conn struct {
	s    *Server
	nc   net.Conn
	id   uint64
	name string
	logp atomic.Pointer[slog.Logger] // the connection's child logger

	// Reader-owned state.
	r           *amqp091.Reader
	dec         amqp091.Decoder
	user        string
	vhost       Vhost
	frameMax    uint32
	chanMax     uint16
	clientProps clientCaps
	lastCh      *channel // the channel of the last frame, if still open
	// deferred are the connections (this one included) that deliveries
	// made by this reader's publishes went to: the reader writes them
	// at the end of its batch (writer.go: deferWrite, endBatch).
	deferred []*conn
	cleaned  bool // cleanup ran
	admitted bool // counted in Server.open: released when serve ends

	certUser    string        // the CN of a verified TLS client certificate: SASL EXTERNAL is offered
	mechanism   string        // SASL mechanism, for the management API
	props       message.Table // client properties, for the management API
	connectedAt time.Time

	meta      atomic.Pointer[connMeta] // set once connection.open succeeded
	recvOct   atomic.Uint64            // bytes read from the socket
	sendOct   atomic.Uint64            // bytes written to it
	lastRead  atomic.Int64             // monoNow at the last read from the socket
	readGap   int64                    // monoNow between the last two reads that returned data; reader only (spin.go)
	readWall  int64                    // wall clock (Unix ns) at the last read that returned data; reader only
	lastWrite atomic.Int64             // monoNow at the last write to it
	hbNanos   atomic.Int64             // negotiated heartbeat
	closeSent atomic.Bool              // the server sent connection.close and awaits close-ok
	closing   chan struct{}            // closed with closeSent's first swap
	published atomic.Bool              // a basic.publish was seen (resource alarms block it)
	paused    atomic.Bool              // the reader waits for an alarm to clear (blocked.go)
	// blockedSent: connection.blocked was sent for the alarm on now.
	// Guarded by Server.alarmMu.
	blockedSent bool

	// wmu guards the outbound buffer and the delivery state of every
	// channel (delivery tags, unacked deliveries, confirms, closing) and
	// the channels map's mutations. Lock order: a core queue lock, then
	// wmu. Never call the core while holding wmu.
	wmu            sync.Mutex
	w              amqp091.Writer
	channels       map[uint16]*channel
	flowWait       <-chan struct{} // a congested queue the last publish reached; reader only
	confirmDirty   []*channel      // channels with confirms to send at the next flush
	shutAfterFlush bool            // close the socket after the next flush
	tuned          bool            // heartbeats may be sent
	drainWait      bool            // the reader waits in waitForDrain
	writerDone     bool            // the writer has exited
	drained        sync.Cond       // signalled when the buffer is swapped out
	scratchDeliver amqp091.BasicDeliver
	outMsgs        int // basic.deliver and basic.get-ok written since the last flush (Server.tally)
	outRedelivered int // of outMsgs, those with the redelivered flag
	// flow is the gate of the connection's no-ack consumers
	// (ConsumeOptions.Flow), held while the pending output passes
	// flowHigh (writer.go); nil until the first no-ack basic.consume.
	flow    Limiter
	outPeak int // the most output pending that a no-ack delivery saw (tests)
	// flowHeld mirrors whether flow is held; written under wmu, read
	// without it by the writer's check after a write (openFlow).
	flowHeld atomic.Bool
	// writing is the size of the buffer taken out for writing and not yet
	// written (set under flushMu and wmu, cleared under flushMu).
	writing atomic.Int64

	// flushMu serializes taking the outbound buffer out and writing it
	// (the writer's flush, the reader's endBatch); it guards spare.
	flushMu sync.Mutex
	spare   []byte          // the buffer last written, to fill next
	raw     syscall.RawConn // the socket's, for endBatch; nil over TLS
	inBatch atomic.Bool     // the reader handles frames: endBatch writes (signal)
	// refillCh is the channel of the acks of the reader's batch, whose
	// deliveries may wait for more acks (writer.go: holdRefill); reader
	// only. refillTimer writes what waited after refillWait;
	// refillArmed: it is set to fire.
	// refillMulti: an ack of the batch named several tags (no rcvlowat).
	// lowat is the socket's SO_RCVLOWAT as last set (0 or 1: unset).
	refillCh    *channel
	refillMulti bool
	refillTimer atomic.Pointer[time.Timer]
	refillArmed atomic.Bool
	lowat       atomic.Int32
	refillHolds atomic.Uint64 // batches whose output waited (tests)
	// lowatOK: SO_RCVLOWAT pays for this client (writer.go: lowatPays),
	// from the socket's TCP_INFO at the infoHolds-th hold. Reader only.
	lowatOK   bool
	infoHolds int
	infoSegs  uint32
	infoBytes uint64

	wake   chan struct{} // wakes the writer
	retick chan struct{} // heartbeat or timeouts changed
	stop   chan struct{} // closed when the reader is done
	// writerGone is closed when the writer exits.
	writerGone chan struct{}
	wg         sync.WaitGroup
}

// clientCaps are the client capabilities that change what the server
// sends.
type clientCaps struct {
	cancelNotify     bool // consumer_cancel_notify
	authFailureClose bool // authentication_failure_close
	blockedNotify    bool // connection.blocked
}

func newConn(s *Server, nc net.Conn) *conn {
	id := s.nextID.Add(1)
	name := nc.RemoteAddr().String() + " -> " + nc.LocalAddr().String()
	c := &conn{
		s: s, nc: nc, id: id, name: name,
		channels: map[uint16]*channel{},
		wake:     make(chan struct{}, 1),
		retick:   make(chan struct{}, 1),
		stop:     make(chan struct{}),
		closing:  make(chan struct{}),

		writerGone: make(chan struct{}),
		frameMax:   amqp091.FrameMinSize,

		connectedAt: time.Now(),
	}
	c.drained.L = &c.wmu
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	c.logp.Store(s.cfg.Logger.With("conn", id, "remote", nc.RemoteAddr().String()))
	c.r = amqp091.NewReader(readStamp{c}, amqp091.FrameMinSize)
	now := monoNow()
	c.lastRead.Store(now)
	c.lastWrite.Store(now)
	return c
}

// log returns the connection's logger; it gains attributes as the
// handshake learns them.
func (c *conn) log() *slog.Logger { return c.logp.Load() }

// readStamp records the time of every successful read, for heartbeats
// and as the arrival time of the publishes it completes.
type readStamp struct{ c *conn }

func (r readStamp) Read(p []byte) (int, error) {
	// The frames read so far are handled: what they produced goes out
	// before the reader may block (a partial frame buffered included).
	r.c.endBatch()
	var n int
	var err error
	if r.c.spinReady() {
		n, err = r.c.spinRead(p) // spin.go
	} else {
		n, err = r.c.nc.Read(p)
	}
	if n > 0 {
		r.c.recvOct.Add(uint64(n))
		// One clock read per socket read, not per message: a publish's
		// arrival time is that of the read that completed it.
		t := time.Now()
		now := int64(t.Sub(monoEpoch)) + 1 // monoNow
		r.c.readGap = now - r.c.lastRead.Swap(now)
		r.c.readWall = t.UnixNano()
	}
	return n, err
}

// serve runs the connection: handshake, frames until close, cleanup.
func (c *conn) serve() {
	c.wg.Add(1)
	go c.writeLoop()
	defer func() {
		close(c.stop)
		c.wg.Wait()
		c.nc.Close()
		if c.admitted {
			c.s.open.release(c.user)
		}
	}()
	if err := c.handshake(); err != nil {
		c.log().Debug("handshake failed", "err", err)
		c.drainUntilCloseOk()
		return
	}
	c.logp.Store(c.log().With("vhost", c.vhost.Name(), "user", c.user))
	c.log().Debug("connection open")
	err := c.readLoop()
	c.cleanup()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.log().Debug("connection closed", "err", err)
	}
}

// readLoop reads and handles frames until the connection ends.
func (c *conn) readLoop() error {
	idleArmed := false
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			c.endBatch()
			if errors.Is(err, os.ErrDeadlineExceeded) && idleArmed && !c.closeSent.Load() {
				// Quiet for idleShrinkAfter: give back a grown read
				// buffer, then wait without a deadline.
				idleArmed = false
				c.r.Shrink()
				c.nc.SetReadDeadline(time.Time{})
				if c.closeSent.Load() {
					// closeConn ran on another goroutine (management,
					// shutdown) meanwhile: keep its close-ok deadline.
					c.nc.SetReadDeadline(time.Now().Add(closeOkTimeout))
				}
				continue
			}
			var pe *amqp091.Error
			if errors.As(err, &pe) && !c.closeSent.Load() {
				// The stream is out of step: send the close and hang up.
				c.closeConn(hardErr(pe.Code, "%s", pe.Text))
				c.wmu.Lock()
				c.shutAfterFlush = true
				c.wmu.Unlock()
				c.signal()
			}
			return err
		}
		if done := c.handleFrame(f); done {
			c.endBatch()
			return nil
		}
		if c.flowWait != nil {
			c.endBatch() // before the reader may block; readStamp.Read ends it otherwise
		}
		c.waitForDrain()
		c.waitForFlow()
		if c.s.alarmOn.Load() && c.published.Load() {
			c.endBatch()
			c.waitAlarm()
		}
		if !idleArmed && c.r.Buffered() == 0 && !c.closeSent.Load() {
			idleArmed = true
			c.nc.SetReadDeadline(time.Now().Add(idleShrinkAfter))
		}
	}
}

// maxOutbound is the outbound buffer size past which the reader stops
// reading: a client that publishes faster than it reads what the server
// sends it (deliveries, confirms, returns) is held back, as TCP
// backpressure holds it back on RabbitMQ.
const maxOutbound = 4 << 20

// waitForDrain blocks the reader while the outbound buffer is over
// maxOutbound.
func (c *conn) waitForDrain() {
	if len(c.deferred) > 0 && c.overOutbound() {
		c.writeDeferred() // not held back while the reader waits
	}
	c.wmu.Lock()
	for len(c.w.Buf) > maxOutbound && !c.writerDone {
		c.wakeWriter() // the reader's batch may hold the wake back
		c.drainWait = true
		c.drained.Wait()
	}
	c.wmu.Unlock()
}

// overOutbound reports whether the outbound buffer is over maxOutbound.
func (c *conn) overOutbound() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return len(c.w.Buf) > maxOutbound
}

// idleShrinkAfter is how long a connection must be quiet before its read
// buffer shrinks back.
const idleShrinkAfter = 2 * time.Second

// handleFrame handles one frame; it returns true when the connection is
// finished.
func (c *conn) handleFrame(f amqp091.Frame) bool {
	if c.closeSent.Load() {
		// After connection.close, only close-ok (or the client's own
		// close) matters. AMQP 0-9-1 4.2.2.
		return c.awaitCloseOk(f)
	}
	if f.Type == amqp091.FrameHeartbeat {
		if f.Channel != 0 {
			return c.fail(hardErr(amqp091.FrameError, "heartbeat frame on non-zero channel %d", f.Channel))
		}
		return false
	}
	if f.Channel == 0 {
		return c.handleConnFrame(f)
	}
	ch := c.lastCh
	if ch == nil || ch.id != f.Channel {
		if ch = c.channels[f.Channel]; ch == nil {
			return c.handleNewChannel(f)
		}
		c.lastCh = ch
	}
	if err := ch.handleFrame(f); err != nil {
		return c.fail(err)
	}
	return false
}

// fail closes the connection for a hard error, or the channel for a
// soft one. It returns true when the connection is finished.
func (c *conn) fail(err error) bool {
	re := replyFor(err, object{vhost: c.vhostName(), user: c.user})
	c.closeConn(re)
	return false
}

// vhostName returns the open vhost's name, or "" before connection.open.
func (c *conn) vhostName() string {
	if c.vhost == nil {
		return ""
	}
	return c.vhost.Name()
}

// handleConnFrame handles a frame on channel 0.
func (c *conn) handleConnFrame(f amqp091.Frame) bool {
	if f.Type != amqp091.FrameMethod {
		return c.fail(hardErr(amqp091.UnexpectedFrame, "expected method frame, got non method frame instead"))
	}
	m, err := c.dec.DecodeMethod(f.Payload)
	if err != nil {
		return c.fail(codecErr(err))
	}
	switch m.(type) {
	case *amqp091.ConnectionClose:
		// As rabbit_reader: channels are closed (consumers cancelled,
		// unacked requeued, exclusive and auto-delete queues gone)
		// before close-ok, so a client whose Close returned sees the
		// broker already cleaned up.
		c.cleanup()
		c.wmu.Lock()
		c.writeMethodLocked(0, &amqp091.ConnectionCloseOk{})
		c.shutAfterFlush = true
		c.wmu.Unlock()
		c.signal()
		return true
	case *amqp091.ConnectionCloseOk:
		return true
	case *amqp091.ConnectionUpdateSecret:
		c.send(0, &amqp091.ConnectionUpdateSecretOk{})
		return false
	case *amqp091.ConnectionBlocked, *amqp091.ConnectionUnblocked:
		return false
	}
	return c.fail(hardErr(amqp091.CommandInvalid, "%s on channel 0", m.Name()))
}

// handleNewChannel handles a frame for a channel that is not open: only
// channel.open is allowed.
func (c *conn) handleNewChannel(f amqp091.Frame) bool {
	if f.Type != amqp091.FrameMethod {
		return c.fail(hardErr(amqp091.ChannelError, "expected 'channel.open'"))
	}
	m, err := c.dec.DecodeMethod(f.Payload)
	if err != nil {
		return c.fail(codecErr(err))
	}
	switch m.(type) {
	case *amqp091.ChannelOpen:
	case *amqp091.ChannelClose:
		// The client closes a channel whose closing handshake already
		// ended here: both sides closed it at once and its close-ok for
		// our channel.close overtook its own channel.close (amqp091-go
		// can send them in that order). Answer, as amqp091-go itself
		// answers a close on a channel it no longer has.
		c.send(f.Channel, &amqp091.ChannelCloseOk{})
		return false
	case *amqp091.ChannelCloseOk:
		return false // the answer to a close of ours, for a channel gone
	default:
		return c.fail(hardErr(amqp091.ChannelError, "expected 'channel.open'"))
	}
	if f.Channel > c.chanMax {
		return c.fail(hardErr(amqp091.NotAllowed, "number of channels opened (%d) has reached the negotiated channel_max (%d)",
			len(c.channels), c.chanMax))
	}
	ch := newChannel(c, f.Channel)
	c.wmu.Lock()
	c.channels[f.Channel] = ch
	c.writeMethodLocked(f.Channel, &amqp091.ChannelOpenOk{})
	c.wmu.Unlock()
	c.signal()
	return false
}

// openConns counts the open connections, in total and per user, for
// connection_max and the users' max-connections.
type openConns struct {
	mu      sync.Mutex // guards total and perUser
	total   int
	perUser map[string]int
}

// admit counts a connection of user about to open, or refuses it as
// rabbit_reader's connection.open does: 530 NOT_ALLOWED when the server
// or the user is at its limit.
func (o *openConns) admit(user string, cfg *Config) *replyError {
	o.mu.Lock()
	defer o.mu.Unlock()
	if cfg.ConnectionMax > 0 && o.total >= cfg.ConnectionMax {
		return hardErr(amqp091.NotAllowed, "connection refused: node connection limit (%d) is reached", cfg.ConnectionMax)
	}
	if cfg.ConnectionMaxPerUser > 0 && o.perUser[user] >= cfg.ConnectionMaxPerUser {
		return hardErr(amqp091.NotAllowed, "connection refused for user '%s': user connection limit (%d) is reached",
			user, cfg.ConnectionMaxPerUser)
	}
	o.total++
	o.perUser[user]++
	return nil
}

// release uncounts a connection that admit counted.
func (o *openConns) release(user string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.total--
	if o.perUser[user]--; o.perUser[user] <= 0 {
		delete(o.perUser, user)
	}
}

// codecErr turns a codec error into the connection error it causes.
func codecErr(err error) *replyError {
	var pe *amqp091.Error
	if errors.As(err, &pe) {
		return hardErr(pe.Code, "%s", pe.Text)
	}
	return hardErr(amqp091.FrameError, "%v", err)
}

// closeConn sends connection.close for a hard error, or channel.close for a
// soft one. Safe from any goroutine for hard errors.
func (c *conn) closeConn(re *replyError) {
	if !re.hard {
		return
	}
	if c.closeSent.Swap(true) {
		return
	}
	close(c.closing)
	c.log().Debug("closing connection", "code", re.code, "text", re.text)
	c.send(0, &amqp091.ConnectionClose{
		ReplyCode: re.code, ReplyText: re.text,
		FailedClassID: re.classID, FailedMethodID: re.methodID,
	})
	// Wait a little for close-ok, then give up. AMQP 0-9-1 4.2.2.
	c.nc.SetReadDeadline(time.Now().Add(closeOkTimeout))
}

// closeOkTimeout bounds the wait for connection.close-ok.
const closeOkTimeout = 3 * time.Second

// drainUntilCloseOk reads frames after a connection.close sent during the
// handshake until the client's close-ok or the close-ok timeout.
func (c *conn) drainUntilCloseOk() {
	if !c.closeSent.Load() {
		return
	}
	for {
		f, err := c.r.ReadFrame()
		if err != nil || c.awaitCloseOk(f) {
			return
		}
	}
}

// awaitCloseOk handles a frame after the server's connection.close.
func (c *conn) awaitCloseOk(f amqp091.Frame) bool {
	if f.Type != amqp091.FrameMethod || f.Channel != 0 {
		return false
	}
	m, err := amqp091.DecodeMethod(f.Payload)
	if err != nil {
		return false
	}
	switch m.(type) {
	case *amqp091.ConnectionCloseOk:
		c.wmu.Lock()
		c.shutAfterFlush = true
		c.wmu.Unlock()
		c.signal()
		return true
	case *amqp091.ConnectionClose:
		c.send(0, &amqp091.ConnectionCloseOk{})
		return false
	}
	return false
}

// cleanup releases what the connection holds in the core: consumers are
// cancelled, unacked deliveries requeued, exclusive queues deleted.
func (c *conn) cleanup() {
	if c.cleaned {
		return
	}
	c.cleaned = true
	for _, ch := range c.channels {
		ch.release()
	}
	c.lastCh = nil
	c.wmu.Lock()
	clear(c.channels)
	c.wmu.Unlock()
	if c.vhost != nil {
		c.vhost.Close()
	}
}

// arrived is the arrival time (Unix ns) of a publish the reader completes
// now: that of the socket read that brought its last frame, or the clock
// for a publish no read brought (a connection read through another path).
func (c *conn) arrived() int64 {
	if c.readWall != 0 {
		return c.readWall
	}
	return time.Now().UnixNano()
}
