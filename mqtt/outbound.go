package mqtt

import (
	"reflect"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
)

// Backpressure towards slow subscribers. mochi queues each packet for a
// client on a bounded channel (Config.WritesPending) that the client's
// write loop drains; when it is full, mochi drops the message (QoS 0
// silently, counted in MessagesDropped). Mosquitto does not drop a QoS 0
// message for an online subscriber that falls behind, so neither may we:
// mochi asks OnACLCheck (read) about every subscriber right before it
// queues a message to it, in the goroutine of the publisher, and that is
// where the publisher waits (outboundWait) until the subscriber's queue has
// room. The publisher's read loop stops meanwhile, so TCP flow control
// reaches the publishing client.
//
// A subscriber whose queue does not drain for stallTimeout is stalled: the
// copy is dropped (and counted), and further copies for it are dropped
// without waiting until its queue has room again, so that one stuck
// subscriber does not hold every publisher for long.

// outboundField is the index of mochi's unexported ClientState.outbound
// channel, or -1 if this version of mochi has none (no backpressure then).
var outboundField = func() int {
	f, ok := reflect.TypeFor[mochi.ClientState]().FieldByName("outbound")
	if !ok || f.Type.Kind() != reflect.Chan || len(f.Index) != 1 {
		return -1
	}
	return f.Index[0]
}()

// outboundLen returns the number of packets queued for cl and the queue's
// capacity.
func outboundLen(cl *mochi.Client) (n, capacity int) {
	if outboundField < 0 {
		return 0, 1
	}
	ch := reflect.ValueOf(&cl.State).Elem().Field(outboundField)
	if ch.IsNil() {
		return 0, 1
	}
	return ch.Len(), ch.Cap()
}

// outboundWait waits until the connected client cl's outbound queue has
// room for one more packet (below seven eighths of its capacity), or until
// cl is stalled or closed.
func (s *Server) outboundWait(cl *mochi.Client) {
	cc := connOf(cl.Net.Conn)
	if cc == nil {
		return
	}
	n, c := outboundLen(cl)
	high := c - max(c/8, 1)
	if n < high {
		if cc.stalled.Load() {
			cc.stalled.Store(false)
		}
		return
	}
	if cc.stalled.Load() || cl.Closed() {
		return
	}
	s.outboundWaits.Add(1)
	deadline := time.Now().Add(stallTimeout)
	for d := 20 * time.Microsecond; ; d = min(2*d, time.Millisecond) {
		time.Sleep(d)
		if n, _ = outboundLen(cl); n <= c/2 || cl.Closed() {
			return
		}
		if time.Now().After(deadline) {
			cc.stalled.Store(true)
			s.log.Warn("mqtt subscriber stalled: dropping its messages until it catches up",
				"client", cl.ID, "queued", n)
			return
		}
	}
}

// inflightWait waits while the connected subscriber id's in-flight window
// is full, for the QoS 1/2 publish pub is making (copies.write), and
// reports whether the window has room now. A subscriber online that falls
// behind holds its publishers back, as a full outbound queue does
// (outboundWait): a burst a client reads more slowly than another publishes
// (8,192 messages by default: localhost socket buffers hold that many
// small ones) would otherwise refuse the publish, which closes a 3.1.1
// publisher's connection. An offline session, the publisher's own session
// (its read loop, which is waiting, would handle the PUBACKs), a bridge
// injection and a subscriber that stalled (no room within stallTimeout;
// until it has room again) are not waited on: the publish is refused.
func (s *Server) inflightWait(pub *mochi.Client, id string) bool {
	if pub.Net.Inline || id == pub.ID {
		return false
	}
	target, ok := s.m.Clients.Get(id)
	if !ok {
		return false
	}
	cc := connOf(target.Net.Conn)
	if cc == nil || target.Closed() || cc.ackStalled.Load() {
		return false
	}
	inflight := target.State.Inflight.Len
	room := func() bool { return inflight() < int(s.m.Options.Capabilities.MaximumInflight) }
	s.inflightWaits.Add(1)
	flushHeld(pub) // the publisher's acknowledgements held back go out first
	deadline := time.Now().Add(stallTimeout)
	for d := 20 * time.Microsecond; ; d = min(2*d, time.Millisecond) {
		time.Sleep(d)
		if room() {
			return true
		}
		if target.Closed() || pub.Closed() || s.closing.Load() {
			return false
		}
		if time.Now().After(deadline) {
			cc.ackStalled.Store(true)
			s.log.Warn("mqtt subscriber stalled: its in-flight window stays full; publishes to it are refused until it has room",
				"client", id, "inflight", inflight())
			return false
		}
	}
}

// flowStats are the backpressure counters (Stats).
type flowStats struct {
	outboundWaits atomic.Int64 // publishes that waited for a subscriber's queue
	inflightWaits atomic.Int64 // publishes that waited for a subscriber's in-flight window
}
