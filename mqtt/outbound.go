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

// flowStats are the backpressure counters (Stats).
type flowStats struct {
	outboundWaits atomic.Int64 // publishes that waited for a subscriber's queue
}
