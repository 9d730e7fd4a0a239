package core

import (
	"sync"
	"sync/atomic"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
	"github.com/junctionmq/junction/core/tally"
)

// targetPool recycles Route's output slices so that publishing allocates
// nothing on the transient path.
var targetPool = sync.Pool{New: func() any {
	s := make([]route.Target, 0, 16)
	return &s
}}

// Publish routes m (m.Exchange, m.RoutingKey, CC/BCC headers) to every
// queue its bindings name. It assigns m.ID and, when unset, m.Arrived; m must
// not be changed afterwards (queues share it).
//
// routed is false when no queue took the message (the AMQP face then
// returns a mandatory message); done is then never called. Otherwise, when
// done is not nil, it is called exactly once: ack=true when every queue
// holds the message safely (on disk where it must be: a persistent message
// in a durable queue), ack=false when a queue refused it (x-overflow
// reject-publish) or the store failed. done may run on any goroutine,
// before Publish returns too, and must not block.
func (v *Vhost) Publish(m *message.Message, done func(ack bool)) (routed bool, err error) {
	routed, _, err = v.PublishFlow(m, done)
	return routed, err
}

// PublishFlow is Publish that also reports congestion: wait is nil when
// every queue the message reached keeps up with its publishers, or else a
// channel closed once they have caught up (queue.Queue.Congested). A face
// that can hold a publisher back (AMQP pauses the connection's reader)
// waits on it before taking the next publish; others ignore it.
func (v *Vhost) PublishFlow(m *message.Message, done func(ack bool)) (routed bool, wait <-chan struct{}, err error) {
	return v.PublishVia(m, done, nil)
}

// PublishVia is PublishFlow that hands via to the deliveries the publish
// makes itself, on the caller's goroutine before PublishVia returns
// (queue.Delivery.Via): a face can then write them out with the
// publisher's next batch instead of waking each consumer's writer.
func (v *Vhost) PublishVia(m *message.Message, done func(ack bool), via any) (routed bool, wait <-chan struct{}, err error) {
	m.ID = v.b.newID()
	if m.Arrived == 0 {
		m.Arrived = v.b.clock.Now().UnixNano()
	}
	tp := targetPool.Get().(*[]route.Target)
	targets, bcc, err := v.routes.Route(m.Exchange, m, (*tp)[:0])
	if err != nil {
		targetPool.Put(tp)
		return false, nil, classify(err)
	}
	if bcc {
		m = route.StripBCC(m)
	}
	routed, wait = v.deliver(m, targets, done, via)
	v.b.counters.countPublish(m.Origin, routed)
	clear(targets)
	*tp = targets[:0]
	targetPool.Put(tp)
	return routed, wait, nil
}

// deliver offers m to each target queue and arranges the confirm; wait is
// the congestion channel of a target queue that is congested, if any.
func (v *Vhost) deliver(m *message.Message, targets []route.Target, done func(bool), via any) (routed bool, wait <-chan struct{}) {
	// The encoded message, made once and only for a target that stores it:
	// a stream, or a durable queue when the message is persistent.
	var data []byte
	persistent := m.Props.Persistent()
	var c *confirm
	if done != nil {
		c = &confirm{done: done}
		c.pending.Store(1) // held until every queue has been offered the message
	}
	for i := range targets {
		t := &targets[i]
		if t.Dest.Kind == route.DestStream {
			if data == nil {
				data = message.Marshal(nil, m)
			}
			routed = v.appendToStream(t.Dest.Name, m, data, c) || routed
			continue
		}
		v.mu.RLock()
		q := v.queues[t.Dest.Name]
		v.mu.RUnlock()
		if q == nil {
			continue
		}
		// A queue's store encodes the message itself, only if it writes it
		// (queue.Publishing.Encode); data made for a stream is shared.
		stored := persistent && q.Durable()
		msg, qdata := m, data
		if !stored {
			qdata = nil
		}
		if t.Transform != nil {
			if msg = t.Transform.Transform(m); msg != m {
				qdata = nil
			}
		}
		p := queue.Publishing{Msg: msg, Data: qdata, Encode: stored && qdata == nil, Via: via}
		if c != nil {
			c.pending.Add(1)
			p.Done = c.settle
		}
		switch q.Publish(p) {
		case queue.Enqueued:
			routed = true
			if c := q.Congested(); c != nil {
				wait = c
			}
		case queue.Duplicate:
			routed = true
			c.release()
		case queue.Rejected:
			routed = true
			c.fail()
		default:
			c.release()
		}
	}
	if c != nil && routed {
		c.release()
	}
	return routed, wait
}

// confirm counts the queues a confirmed publish still waits on.
type confirm struct {
	pending atomic.Int32
	failed  atomic.Bool
	done    func(ack bool)
}

func (c *confirm) settle(err error) {
	if err != nil {
		c.failed.Store(true)
	}
	c.release()
}

func (c *confirm) fail() {
	if c != nil {
		c.failed.Store(true)
		c.release()
	}
}

func (c *confirm) release() {
	if c != nil && c.pending.Add(-1) == 0 {
		c.done(!c.failed.Load())
	}
}

// deadLetter republishes a message a queue dead-lettered (a new message
// with x-death headers). A missing dead-letter exchange drops it, as
// RabbitMQ does.
func (v *Vhost) deadLetter(m *message.Message, exchange, routingKey string) {
	m.Exchange, m.RoutingKey = exchange, routingKey
	m.Origin = message.FaceCore
	v.b.counters.deadLettered.Add(1)
	routed, err := v.Publish(m, nil)
	if err != nil {
		v.b.log.Debug("dead-letter dropped", "vhost", v.name, "exchange", exchange, "err", err)
	}
	if err != nil || !routed {
		v.b.tally.Face(message.FaceCore).Dropped(tally.Unroutable, 1)
	}
}
