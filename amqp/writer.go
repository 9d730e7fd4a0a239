package amqp

import (
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/junctionmq/junction/protocol/amqp091"
)

// Outbound buffer sizes: a buffer that grew past maxKeptBuf is dropped
// after its flush, and an idle connection drops both of its buffers, so it
// costs no write memory at all. A busy consumer's flushes run to a few
// hundred KiB; below 256 KiB its buffers are kept while it is busy rather
// than regrown from nothing after each flush (growslice was 8 % of the
// broker's CPU with amqp091-go consumers at 64 KiB).
const maxKeptBuf = 256 << 10

// Flow control of no-ack consumers: deliveries to them are settled when
// the queue hands them over, so a client that stops reading would have
// them pile up in the outbound buffer until the write timeout drops the
// connection, and lost with it. Instead, once the pending output (the
// buffer plus the part being written) passes flowHigh, a no-ack delivery
// holds the connection's flow gate (ConsumeOptions.Flow), and the queues
// skip its no-ack consumers as consumers at their prefetch limit: the
// messages stay ready in the queue and other consumers go on receiving.
// After a write that leaves less than flowLow pending, the writer opens
// the gate and wakes the queues (openFlow). Output stays under flowHigh
// plus one delivery, or maxEarly deliveries before consume-ok. RabbitMQ
// does the same with its credit flow between queue, channel and writer.
const (
	flowHigh = 512 << 10
	flowLow  = 256 << 10
	maxEarly = 1024
)

// holdFlowLocked holds the flow gate when the pending output passed
// flowHigh (or a consumer not yet started has maxEarly deliveries waiting).
// Called by a no-ack delivery; caller holds wmu.
func (c *conn) holdFlowLocked(cs *consumer) {
	if c.flow == nil {
		return
	}
	pending := len(c.w.Buf) + int(c.writing.Load())
	if pending > c.outPeak {
		c.outPeak = pending
	}
	if (pending > flowHigh || len(cs.early) >= maxEarly) && !c.flowHeld.Load() {
		c.flowHeld.Store(true)
		c.flow.Hold(true)
	}
}

// openFlow opens a held flow gate once the pending output is under
// flowLow, and wakes the queues that skipped the connection's no-ack
// consumers, which then deliver on this goroutine. Called after each
// write, holding no lock. A delivery that holds the gate always wakes the
// writer or leaves its write to an endBatch (signal, deferWrite), so a
// write, and this check, follows every hold.
func (c *conn) openFlow() {
	if !c.flowHeld.Load() {
		return
	}
	c.wmu.Lock()
	open := c.flowHeld.Load() && len(c.w.Buf)+int(c.writing.Load()) < flowLow
	if open {
		c.flowHeld.Store(false)
		c.flow.Hold(false)
	}
	c.wmu.Unlock()
	if open {
		c.flow.Wake()
	}
}

// signal wakes the writer. Never blocks. While the connection's reader
// handles an acknowledgement that was the last frame it read (inBatch,
// until it reads again), the wake is left to the reader's endBatch,
// which writes what the ack produced itself: a consumer's ack that frees
// a prefetch slot then costs no writer wake-up for the delivery it lets
// out (amqp091-go sends each ack in its own write, so that is the usual
// case).
func (c *conn) signal() {
	if c.inBatch.Load() {
		return
	}
	c.wakeWriter()
}

// wakeWriter wakes the writer whatever the reader is doing.
func (c *conn) wakeWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop is the connection's one writer goroutine: it swaps the
// outbound buffer out under wmu and writes it in one syscall, sends
// heartbeats and watches for missed ones and consumer timeouts.
func (c *conn) writeLoop() {
	defer c.wg.Done()
	defer close(c.writerGone)
	defer func() {
		c.wmu.Lock()
		c.writerDone = true
		c.drained.Broadcast()
		c.wmu.Unlock()
	}()
	ticker := time.NewTicker(time.Hour)
	ticker.Stop()
	defer ticker.Stop()
	for {
		select {
		case <-c.wake:
			// A busy flow: let the goroutines that deliver to this
			// connection append more before the buffer is taken.
			if monoNow()-c.lastWrite.Load() < int64(directIdle) {
				runtime.Gosched()
			}
		case <-c.retick:
			if d := c.tickInterval(); d > 0 {
				ticker.Reset(d)
			}
			continue
		case now := <-ticker.C:
			if !c.onTick(now) {
				return
			}
		case <-c.stop:
			c.flush()
			return
		}
		if !c.flush() {
			return
		}
	}
}

// outbound is a buffer taken out for writing, with the deliveries it
// holds for the delivered-messages tally.
type outbound struct {
	buf                    []byte
	delivered, redelivered int
}

// takeOutLocked appends the pending confirms and swaps the outbound
// buffer for the spare one. Caller holds flushMu and wmu.
func (c *conn) takeOutLocked() outbound {
	c.appendConfirmsLocked()
	if len(c.w.Buf) == 0 {
		return outbound{}
	}
	out := outbound{buf: c.w.Buf, delivered: c.outMsgs, redelivered: c.outRedelivered}
	c.writing.Store(int64(len(out.buf)))
	c.w.Buf = c.spare[:0]
	c.spare = nil
	c.outMsgs, c.outRedelivered = 0, 0
	if c.drainWait {
		c.drainWait = false
		c.drained.Broadcast()
	}
	return out
}

// written accounts for a write of buf and keeps buf as the spare buffer.
// Caller holds flushMu.
func (c *conn) written(out outbound, n int) {
	c.writing.Store(0)
	c.s.tally.Delivered(out.delivered)
	c.s.tally.Redelivered(out.redelivered)
	if n > 0 {
		c.sendOct.Add(uint64(n))
		c.lastWrite.Store(monoNow())
	}
	if cap(out.buf) <= maxKeptBuf {
		c.spare = out.buf[:0]
	}
}

// flush writes what producers appended, then opens the flow gate if the
// write drained the output (openFlow). It returns false when the
// connection is done: a write failed or a close was to follow the flush.
func (c *conn) flush() bool {
	ok := c.flushOnce()
	if ok {
		c.openFlow()
	}
	return ok
}

// flushOnce is flush's write.
func (c *conn) flushOnce() bool {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.wmu.Lock()
	out := c.takeOutLocked()
	shut := c.shutAfterFlush
	c.wmu.Unlock()
	if len(out.buf) == 0 {
		if shut {
			c.nc.Close()
		}
		return !shut
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout()))
	n, err := c.nc.Write(out.buf)
	c.written(out, n)
	if err != nil || shut {
		c.nc.Close()
		return false
	}
	return true
}

// endBatch ends the reader's batch of frames (see signal): before the
// reader blocks, it writes what its frames produced with one
// non-blocking write of its own, and leaves to the writer whatever that
// cannot take (a busy writer, a full socket buffer, a TLS connection, a
// close to follow).
func (c *conn) endBatch() {
	if len(c.deferred) > 0 {
		c.writeDeferred()
	}
	if !c.inBatch.Load() {
		c.refillCh = nil
		return
	}
	c.inBatch.Store(false)
	if c.holdRefill() {
		return
	}
	c.writeNow()
}

// Refill coalescing. A consumer with a prefetch window that acks each
// delivery (amqp091-go sends each ack in its own write) frees one slot
// per ack, and each ack read let one delivery out in a write of its own:
// per message a broker write, a client read and a wake-up of the
// client's reader. While the client still holds more than all but an
// eighth of its window in written deliveries (refillAt), it has work
// enough: the deliveries its acks let out wait in the buffer for the
// next acks and go out together once an eighth of the window is free,
// so the window refills in writes of an eighth of it. The client never
// runs dry (it acks again before it has used the seven eighths it
// holds), a window of fewer than refillMinWindow gains nothing, and a
// client that holds its deliveries without acking (long tasks, a worker
// pool) gets what waited after refillWait at most. At low rates a window
// is never that full, so nothing waits. Larger refills (half the window)
// cut the broker's writes further but cost the client more: its acks,
// written into a socket nobody reads, stop coalescing into shared TCP
// segments (1.05 acks a segment against 1.74, measured with ss -ti).
const (
	refillMinWindow = 16
	refillPart      = 8
	refillMaxBuf    = 64 << 10
	refillWait      = 500 * time.Microsecond
)

// refillAt is the count of written deliveries the client of a window
// holds at most when its refill goes out.
func refillAt(window int) int { return window - window/refillPart }

// ackFrameSize is the size of a basic.ack, basic.nack or basic.reject
// frame: what the socket receives per acknowledged delivery from a client
// that acknowledges one tag at a time.
const ackFrameSize = 21

// maxLowat bounds the SO_RCVLOWAT a held refill sets.
const maxLowat = 16 << 10

// holdRefill reports whether the output of the reader's batch of acks
// waits for more acks (see Refill coalescing above), and if so makes
// sure the refill timer will write it. Reader only.
func (c *conn) holdRefill() bool {
	ch := c.refillCh
	c.refillCh = nil
	if ch == nil {
		return false
	}
	window := int(ch.prefetch)
	if window == 0 {
		window = int(ch.global)
	}
	if window < refillMinWindow {
		return false
	}
	multi := c.refillMulti
	c.refillMulti = false
	c.wmu.Lock()
	written := len(ch.unacked) - c.outMsgs
	hold := len(c.w.Buf) > 0 && len(c.w.Buf) < refillMaxBuf && !c.shutAfterFlush && written > refillAt(window)
	c.wmu.Unlock()
	if !hold {
		c.setLowat(1)
		return false
	}
	c.refillHolds.Add(1)
	// The reader need not wake before the acks that bring the client's
	// share down to refillAt: the socket wakes it once their
	// bytes are in (SO_RCVLOWAT), not at every ack. Acks that name
	// several tags make no such count.
	if multi || !c.lowatPays() {
		c.setLowat(1)
	} else {
		c.setLowat(min((written-refillAt(window))*ackFrameSize, maxLowat))
	}
	if !c.refillArmed.Swap(true) {
		if t := c.refillTimer.Load(); t != nil {
			t.Reset(refillWait)
		} else {
			c.refillTimer.Store(time.AfterFunc(refillWait, c.refillDue))
		}
	}
	return true
}

// SO_RCVLOWAT pays for a client that writes its acks several to a TCP
// segment (the native load client, any client that batches). A client
// that writes each ack alone (amqp091-go) loses by it: into a socket
// that is read at every ack or two, its writes share segments (1.7 to 2
// acks a segment on loopback), into one left unread they do not (1.05),
// and each segment costs its kernel more than the broker saves (+0.9 to
// +1.5 us/msg on the client against -0.2 to -1.4 on the broker). Every
// lowatCheckEvery holds, the reader reads the socket's TCP_INFO and
// keeps SO_RCVLOWAT for clients whose segments carried lowatMinAcks acks
// or more on average since the last look.
const (
	lowatCheckEvery = 64
	lowatMinAcks    = 3
)

// alwaysLowat makes every held refill set SO_RCVLOWAT (tests).
var alwaysLowat bool

// lowatPays reports whether SO_RCVLOWAT pays for the client (see above).
// Reader only.
func (c *conn) lowatPays() bool {
	if c.raw == nil {
		return false
	}
	if alwaysLowat {
		return true
	}
	c.infoHolds++
	if c.infoHolds%lowatCheckEvery != 1 {
		return c.lowatOK
	}
	var info *unix.TCPInfo
	c.raw.Control(func(fd uintptr) { info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
	if info == nil {
		c.lowatOK = false
		return false
	}
	segs, bytes := info.Segs_in-c.infoSegs, info.Bytes_received-c.infoBytes
	if c.infoHolds > 1 && segs > 0 {
		c.lowatOK = bytes >= uint64(segs)*lowatMinAcks*ackFrameSize
	}
	c.infoSegs, c.infoBytes = info.Segs_in, info.Bytes_received
	return c.lowatOK
}

// refillDue is the refill timer's. While SO_RCVLOWAT is up and the
// reader reads (the client acks), it waits again; otherwise it lowers the socket's SO_RCVLOWAT,
// which wakes the reader for what came, and wakes the writer for what
// waited. Every SO_RCVLOWAT that holdRefill sets is followed by a run of
// refillDue that resets it: armed is cleared before the reset.
func (c *conn) refillDue() {
	if t := c.refillTimer.Load(); t != nil && c.lowat.Load() > 1 && monoNow()-c.lastRead.Load() < int64(refillWait) {
		t.Reset(refillWait)
		return
	}
	c.refillArmed.Store(false)
	c.lowat.Store(1)
	c.setsockLowat(1)
	c.wakeWriter()
}

// setLowat sets the socket's SO_RCVLOWAT to n bytes unless it is set so.
func (c *conn) setLowat(n int) {
	if n < 1 {
		n = 1
	}
	if c.raw == nil || c.lowat.Load() == int32(n) || (n == 1 && c.lowat.Load() == 0) {
		return
	}
	c.lowat.Store(int32(n))
	c.setsockLowat(n)
}

// setsockLowat sets the socket's SO_RCVLOWAT.
func (c *conn) setsockLowat(n int) {
	if c.raw == nil {
		return
	}
	c.raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
	})
}

// maxDeferred is the outbound buffer size up to which a delivery made by
// a publish may wait for the publisher's end of batch; past it, the
// consumer's writer is woken at once.
const maxDeferred = 64 << 10

// directIdle is how long a connection must have written nothing for a
// delivery made by a publish to be written by the publisher's reader
// (deferWrite). A consumer's writer that wakes for each delivery of a
// slow flow (at 1,000 msg/s, each message alone) is a goroutine hand-off
// per message, which the reader's own write saves: broker CPU per
// message at 1,000 msg/s fell from 92-114 to 74-78 us. A busy flow is
// left to the writer, whose writes carry all the deliveries that arrived
// while it was waking: writing after every publish read instead (one
// delivery per write with amqp091-go publishers) cost 3.2 us of broker
// CPU per message against the writer's 1.9.
const directIdle = 200 * time.Microsecond

// maxDeferredConns bounds how many consumer connections one reader writes
// to at the end of its batch; deliveries to more wake their writers.
const maxDeferredConns = 16

// deferWrite takes over the wake-up of t's writer for a delivery this
// reader's publish made (Delivery.Via): the reader writes t's buffer at
// the end of its batch, so that a publish whose message goes straight to
// a consumer costs no goroutine hand-off (the consumer's writer is woken
// only when its socket or buffer is busy). Reader goroutine only; it
// returns false when t's writer must be woken instead.
func (c *conn) deferWrite(t *conn) bool {
	for _, d := range c.deferred {
		if d == t {
			return true
		}
	}
	if len(c.deferred) >= maxDeferredConns {
		return false
	}
	c.deferred = append(c.deferred, t)
	return true
}

// writeDeferred writes the buffers of the connections deferWrite took.
func (c *conn) writeDeferred() {
	for i, t := range c.deferred {
		c.deferred[i] = nil
		t.writeNow()
	}
	c.deferred = c.deferred[:0]
}

// writeNow writes c's outbound buffer with one non-blocking write from
// the calling goroutine (a reader's), and leaves to c's writer whatever
// that cannot take: a busy writer, a full socket buffer, a TLS
// connection, a close to follow. Then it opens the flow gate if the
// output drained (openFlow).
func (c *conn) writeNow() {
	c.writeNowOnce()
	c.openFlow()
}

// writeNowOnce is writeNow's write.
func (c *conn) writeNowOnce() {
	if c.raw == nil || !c.flushMu.TryLock() {
		c.wakeWriter()
		return
	}
	c.wmu.Lock()
	if c.shutAfterFlush {
		c.wmu.Unlock()
		c.flushMu.Unlock()
		c.wakeWriter()
		return
	}
	out := c.takeOutLocked()
	c.wmu.Unlock()
	if len(out.buf) == 0 {
		c.flushMu.Unlock()
		return
	}
	n := c.writeNonblock(out.buf)
	if n < len(out.buf) {
		// The rest goes first, before what was appended meanwhile; the
		// writer's blocking write takes it (or meets the error again).
		c.wmu.Lock()
		rest := make([]byte, 0, len(out.buf)-n+len(c.w.Buf))
		rest = append(rest, out.buf[n:]...)
		c.w.Buf = append(rest, c.w.Buf...)
		c.wmu.Unlock()
		c.written(out, n)
		c.flushMu.Unlock()
		c.wakeWriter()
		return
	}
	c.written(out, n)
	c.flushMu.Unlock()
}

// writeNonblock makes one non-blocking write attempt of b on the socket
// and returns how much of b it took.
func (c *conn) writeNonblock(b []byte) int {
	var n int
	err := c.raw.Write(func(fd uintptr) bool {
		var err error
		for {
			n, err = syscall.Write(int(fd), b)
			if err != syscall.EINTR {
				break
			}
		}
		return true // never wait for the socket: the writer does that
	})
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// writeTimeout bounds one write: a peer that stops reading for two
// heartbeat intervals (or 30 s without heartbeats) is dropped.
func (c *conn) writeTimeout() time.Duration {
	if hb := c.heartbeat(); hb > 0 {
		return max(2*hb, time.Second)
	}
	return 30 * time.Second
}

// tickInterval is the period of the writer's housekeeping: half the
// heartbeat, and often enough to notice consumer timeouts.
func (c *conn) tickInterval() time.Duration {
	d := time.Minute
	if hb := c.heartbeat(); hb > 0 {
		d = min(d, hb/2)
	}
	if ct := c.s.cfg.ConsumerTimeout; ct > 0 {
		d = min(d, max(ct/4, 10*time.Millisecond))
	}
	return max(d, 10*time.Millisecond)
}

// onTick sends a heartbeat when nothing else was written for an interval,
// drops a peer that sent nothing for two, closes channels whose
// deliveries timed out and frees the buffers of an idle connection.
func (c *conn) onTick(now time.Time) bool {
	hb := c.heartbeat()
	if hb > 0 && !c.paused.Load() {
		// Two missed heartbeats from the client: close, as RabbitMQ,
		// without a connection.close.
		if now.Sub(monoEpoch)-time.Duration(c.lastRead.Load()) > 2*hb {
			c.log().Warn("missed heartbeats from client", "timeout", hb)
			c.nc.Close()
			return false
		}
	}
	idle := now.Sub(monoEpoch) - time.Duration(c.lastWrite.Load())
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if hb > 0 && idle >= hb/2 && len(c.w.Buf) == 0 && c.tuned {
		c.w.WriteHeartbeat()
	}
	c.checkConsumerTimeoutsLocked(now)
	if idle >= time.Second && len(c.w.Buf) == 0 {
		c.w.Buf = nil
		if c.flushMu.TryLock() {
			c.spare = nil
			c.flushMu.Unlock()
		}
	}
	return true
}

// heartbeat returns the negotiated heartbeat interval (0 = none).
func (c *conn) heartbeat() time.Duration {
	return time.Duration(c.hbNanos.Load())
}

// writeMethodLocked appends a method frame. Caller holds wmu.
func (c *conn) writeMethodLocked(ch uint16, m amqp091.Method) {
	if err := c.w.WriteMethod(ch, m); err != nil {
		c.log().Error("encoding method", "method", m.Name(), "err", err)
	}
}

// send appends a method frame and wakes the writer.
func (c *conn) send(ch uint16, m amqp091.Method) {
	c.wmu.Lock()
	c.writeMethodLocked(ch, m)
	c.wmu.Unlock()
	c.signal()
}
