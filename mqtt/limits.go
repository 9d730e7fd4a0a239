package mqtt

import (
	"net"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Per-client limits: connections (Config.MaxConnections), inbound packet
// size (Config.MaxPacketSize) and publish rate (Config.RateLimit and
// RateBurst).
//
// Rate: a client that publishes faster than RateLimit on average, beyond a
// burst of RateBurst, is throttled: its read loop waits in OnPublish for the
// next token, so it reads nothing else meanwhile and TCP flow control
// reaches the client. Nothing is refused or lost, in 3.1.1 or 5.0. MQTT 5
// defines 0x96 "message rate too high" as a DISCONNECT reason code only
// (the PUBACK and PUBREC reason codes do not include it, MQTT 5 3.4.2.1),
// so a refusal could only end the connection; throttling is what Mosquitto
// (no rate limit), EMQX and HiveMQ (throttling) leave clients to expect.

// limitStats are the limits' counters (Stats).
type limitStats struct {
	throttled    atomic.Int64 // publishes that waited for a token
	connsRefused atomic.Int64 // CONNECTs refused for MaxConnections
	tooLarge     atomic.Int64 // connections ended for MaxPacketSize
}

// acquireSlot takes one of Config.MaxConnections, or reports false.
func (s *Server) acquireSlot() bool {
	for {
		n := s.slots.Load()
		if n >= s.cfg.MaxConnections {
			return false
		}
		if s.slots.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *Server) releaseSlot() { s.slots.Add(-1) }

// admit takes a connection slot for an authenticated client, or returns
// the reason code to refuse it with (0x97; v3Connack makes it 0x03).
func (s *Server) admit(cl *mochi.Client) byte {
	cc := connOf(cl.Net.Conn)
	if cc == nil {
		return 0
	}
	if !s.acquireSlot() {
		s.connsRefused.Add(1)
		s.log.Info("mqtt connection refused: too many connections", "client", cl.ID, "max", s.cfg.MaxConnections)
		return errQuotaExceeded.Code
	}
	cc.slot.Store(true)
	// RabbitMQ's user and vhost limits max-connections count MQTT
	// connections with AMQP ones.
	release, err := s.b.OpenConnection(cc.user, cc.vhost)
	if err != nil {
		s.connsRefused.Add(1)
		s.log.Info("mqtt connection refused", "client", cl.ID, "user", cc.user, "reason", err.Error())
		return errQuotaExceeded.Code
	}
	cc.counted.Store(&release)
	return 0
}

// tokenBucket is a client's publish rate limiter. Only the client's read
// loop uses it.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// take takes a token and returns how long to wait before the publish may
// proceed (0: at once). Tokens may go negative: the debt is the wait.
func (b *tokenBucket) take(now time.Time, rate float64, burst int) time.Duration {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else {
		b.tokens = min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / rate * float64(time.Second))
}

// throttle makes a client's read loop wait for its rate limit (called from
// OnPublish, in the read loop). The wait ends early if the client or the
// server closes.
func (s *Server) throttle(cl *mochi.Client) {
	if s.cfg.RateLimit <= 0 {
		return
	}
	cc := connOf(cl.Net.Conn)
	if cc == nil {
		return
	}
	d := cc.rate.take(time.Now(), s.cfg.RateLimit, s.cfg.RateBurst)
	if d <= 0 {
		return
	}
	s.throttled.Add(1)
	flushHeld(cl) // the acknowledgements held back go out before the wait
	deadline := time.Now().Add(d)
	for left := d; left > 0; left = time.Until(deadline) {
		time.Sleep(min(left, 50*time.Millisecond))
		if cl.Closed() || s.closing.Load() {
			return
		}
	}
}

// sizeGuard follows packet boundaries in a client's inbound bytes to see a
// packet larger than the maximum packet size as soon as its fixed header
// arrives, before mochi does (mochi then ends the connection without a
// DISCONNECT).
type sizeGuard struct {
	skip   int64  // bytes of the current packet still to come
	hdr    int    // 0: a packet starts; n > 0: n-1 length bytes read
	length uint32 // remaining length decoded so far
	mult   uint32
}

// scan reports whether p (the next bytes read) holds the fixed header of a
// packet larger than max bytes (remaining length + 1, as mochi compares).
func (g *sizeGuard) scan(p []byte, max uint32) bool {
	for i := 0; i < len(p); {
		if g.skip > 0 {
			n := min(int64(len(p)-i), g.skip)
			g.skip -= n
			i += int(n)
			continue
		}
		b := p[i]
		i++
		if g.hdr == 0 {
			g.hdr, g.length, g.mult = 1, 0, 1
			continue
		}
		g.length += uint32(b&0x7f) * g.mult
		if b&0x80 != 0 {
			g.mult *= 128
			if g.hdr++; g.hdr > 4 {
				g.hdr = 0 // malformed: mochi ends the connection
			}
			continue
		}
		g.hdr = 0
		if g.length+1 > max {
			return true
		}
		g.skip = int64(g.length)
	}
	return false
}

// disconnectTooLarge is an MQTT 5 DISCONNECT with reason code 0x95 packet
// too large and no properties.
var disconnectTooLarge = []byte{packets.Disconnect << 4, 2, packets.ErrPacketTooLarge.Code, 0}

// checkSize runs the size guard over bytes just read (in Read). On a packet
// too large it sends an MQTT 5 client DISCONNECT 0x95 and marks the
// connection for a lingering close, so the client reads it before the
// connection is reset.
func (c *clientConn) checkSize(p []byte) {
	if c.maxPacket == 0 || c.large.Load() || !c.guard.scan(p, c.maxPacket) {
		return
	}
	c.large.Store(true)
	if c.tooLarge != nil {
		c.tooLarge.Add(1)
	}
	if !c.v5.Load() {
		return // 3.1.1 has no DISCONNECT from the server; nor before CONNACK
	}
	c.mu.Lock()
	c.pending = append(c.pending, disconnectTooLarge...)
	_ = c.flushLocked()
	c.mu.Unlock()
}

// lingerClose closes a connection after a DISCONNECT 0x95: it stops
// writing, then discards what the client still sends for up to a second, so
// that closing with unread data does not reset the connection before the
// client has read the DISCONNECT.
func lingerClose(nc net.Conn) error {
	type closeWriter interface{ CloseWrite() error }
	cw, ok := nc.(closeWriter)
	if !ok {
		return nc.Close()
	}
	_ = cw.CloseWrite()
	go func() {
		defer nc.Close()
		_ = nc.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 4096)
		for {
			if _, err := nc.Read(buf); err != nil {
				return
			}
		}
	}()
	return nil
}
