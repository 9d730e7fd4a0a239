package amqp

import (
	"time"

	"github.com/junctionmq/junction/protocol/amqp091"
)

// Outbound buffer sizes: a buffer that grew past maxKeptBuf is dropped
// after its flush, and an idle connection drops both of its buffers, so it
// costs no write memory at all. A busy consumer's flushes run to a few
// hundred KiB; below 256 KiB its buffers are kept while it is busy rather
// than regrown from nothing after each flush (growslice was 8 % of the
// broker's CPU with amqp091-go consumers at 64 KiB).
const maxKeptBuf = 256 << 10

// signal wakes the writer. Never blocks.
func (c *conn) signal() {
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
	var spare []byte
	ticker := time.NewTicker(time.Hour)
	ticker.Stop()
	defer ticker.Stop()
	for {
		select {
		case <-c.wake:
		case <-c.retick:
			if d := c.tickInterval(); d > 0 {
				ticker.Reset(d)
			}
			continue
		case now := <-ticker.C:
			if !c.onTick(now, &spare) {
				return
			}
		case <-c.stop:
			c.flush(&spare)
			return
		}
		if !c.flush(&spare) {
			return
		}
	}
}

// flush writes what producers appended. It returns false when the
// connection is done: a write failed or a close was to follow the flush.
func (c *conn) flush(spare *[]byte) bool {
	c.wmu.Lock()
	c.appendConfirmsLocked()
	buf := c.w.Buf
	shut := c.shutAfterFlush
	if len(buf) == 0 {
		c.wmu.Unlock()
		if shut {
			c.nc.Close()
		}
		return !shut
	}
	c.w.Buf = (*spare)[:0]
	delivered, redelivered := c.outMsgs, c.outRedelivered
	c.outMsgs, c.outRedelivered = 0, 0
	if c.drainWait {
		c.drainWait = false
		c.drained.Broadcast()
	}
	c.wmu.Unlock()
	c.s.tally.Delivered(delivered)
	c.s.tally.Redelivered(redelivered)

	c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout()))
	n, err := c.nc.Write(buf)
	c.sendOct.Add(uint64(n))
	c.lastWrite.Store(time.Now().UnixNano())
	if cap(buf) > maxKeptBuf {
		buf = nil
	}
	*spare = buf[:0]
	if err != nil || shut {
		c.nc.Close()
		return false
	}
	return true
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
func (c *conn) onTick(now time.Time, spare *[]byte) bool {
	hb := c.heartbeat()
	if hb > 0 && !c.paused.Load() {
		// Two missed heartbeats from the client: close, as RabbitMQ,
		// without a connection.close.
		if now.Sub(time.Unix(0, c.lastRead.Load())) > 2*hb {
			c.log().Warn("missed heartbeats from client", "timeout", hb)
			c.nc.Close()
			return false
		}
	}
	idle := now.Sub(time.Unix(0, c.lastWrite.Load()))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if hb > 0 && idle >= hb/2 && len(c.w.Buf) == 0 && c.tuned {
		c.w.WriteHeartbeat()
	}
	c.checkConsumerTimeoutsLocked(now)
	if idle >= time.Second && len(c.w.Buf) == 0 {
		c.w.Buf, *spare = nil, nil
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
