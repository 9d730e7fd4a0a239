package bench

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// nativeClient drives load with NativeConn: each producer batches up to
// maxBatch publishes into one write; each consumer acknowledges in one
// write whatever a read brought in.
type nativeClient struct{}

// dialRun dials for a run and aborts the connection when ctx ends.
func dialRun(ctx context.Context, r *run) (*NativeConn, func() bool, error) {
	c, err := DialNative(r.cfg.URI, 10*time.Second)
	if err != nil {
		return nil, nil, err
	}
	return c, context.AfterFunc(ctx, func() { c.Abort() }), nil
}

// nativeProducer is one producer's state.
type nativeProducer struct {
	r     *run
	c     *NativeConn
	pub   amqp091.BasicPublish
	props message.Properties
	body  []byte
	win   *window // nil without confirms
	seq   uint64
}

func (nativeClient) produce(ctx context.Context, r *run) error {
	c, stop, err := dialRun(ctx, r)
	if err != nil {
		return err
	}
	defer func() { stop(); c.Abort() }()
	if err := c.OpenChannel(1); err != nil {
		return err
	}
	p := &nativeProducer{r: r, c: c, pub: amqp091.BasicPublish{Exchange: r.exchange, RoutingKey: r.key}, body: make([]byte, r.cfg.Size)}
	p.props.Flags = message.FlagDeliveryMode
	p.props.DeliveryMode = 1
	if r.cfg.Persistent {
		p.props.DeliveryMode = 2
	}
	if r.cfg.Confirm > 0 {
		if _, err := c.Call(1, &amqp091.ConfirmSelect{}, &amqp091.ConfirmSelectOk{}); err != nil {
			return err
		}
		p.win = newWindow(r.cfg.Confirm)
	}
	var wg sync.WaitGroup
	var readErr error
	wg.Go(func() { readErr = p.readConfirms() })
	err = p.publish(ctx)
	c.Abort()
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		err = readErr
	}
	return err
}

// publish publishes batches until ctx ends.
func (p *nativeProducer) publish(ctx context.Context) error {
	stamps := make([]int64, batchSize(p.r.cfg.Size))
	var late Histogram
	defer p.r.mergeTiming(&late, nil)
	pace := newPacer(p.r)
	for ctx.Err() == nil {
		want := len(stamps)
		if p.win != nil {
			var err error
			if want, err = p.win.acquire(ctx, want); err != nil {
				return nil
			}
		}
		now := p.r.now()
		n := pace.due(now, stamps[:want])
		if n < want && p.win != nil {
			for range want - n {
				<-p.win.tokens
			}
		}
		if n == 0 {
			if err := pace.wait(ctx, now); err != nil {
				return nil
			}
			continue
		}
		sent := p.r.now()
		for _, t := range stamps[:n] {
			stamp(p.body, t)
			p.r.stampSent(p.body, t, sent, &late)
			if p.win != nil {
				p.seq++
				p.win.sending(p.seq, t)
			}
			if err := p.c.w.WriteContent(1, &p.pub, &p.props, p.body); err != nil {
				return err
			}
		}
		if err := p.c.Flush(); err != nil {
			return err
		}
		if p.r.in(now) {
			p.r.published.Add(int64(n))
		}
	}
	return nil
}

// readConfirms reads the producer connection: confirms, and the broker
// closing the channel or connection.
func (p *nativeProducer) readConfirms() error {
	var h Histogram
	defer p.r.merge(nil, &h)
	for {
		f, err := p.c.ReadFrame()
		if err != nil {
			return err
		}
		if f.Type != amqp091.FrameMethod {
			continue
		}
		m, err := p.c.Decode(f.Payload)
		if err != nil {
			return err
		}
		var tag uint64
		var multiple bool
		switch m := m.(type) {
		case *amqp091.BasicAck:
			tag, multiple = m.DeliveryTag, m.Multiple
		case *amqp091.BasicNack:
			tag, multiple = m.DeliveryTag, m.Multiple
		default:
			if err := closeError(m); err != nil {
				return err
			}
			continue
		}
		if p.win == nil {
			continue
		}
		now := p.r.now()
		n := p.win.confirm(tag, multiple, now, &h)
		if p.r.in(now) {
			p.r.confirmed.Add(int64(n))
		}
	}
}

// ackFlushBytes is how many bytes of acks a consumer buffers at most.
const ackFlushBytes = 4 << 10

// delivery is a consumer channel's message in progress.
type delivery struct {
	tag       uint64
	remaining uint64 // body bytes still to come
	stamp     int64
	sent      int64 // the paced send time (run.sentOf), or -1
	first     bool  // the next body frame is the first
	unacked   int   // messages received since the last ack
}

// nativeConsumer is one consumer connection's state.
type nativeConsumer struct {
	r     *run
	c     *NativeConn
	chans []delivery // indexed by channel number
	ack   amqp091.BasicAck
	lat   Histogram
	trans Histogram // transit: receive less send time (paced runs)
	count int64     // messages delivered in the window, not yet added to r
}

func (nativeClient) consume(ctx context.Context, r *run, queues []string, ready func()) error {
	c, stop, err := dialRun(ctx, r)
	if err != nil {
		return err
	}
	defer func() { stop(); c.Abort() }()
	for i, q := range queues {
		ch := uint16(i + 1)
		if err := c.OpenChannel(ch); err != nil {
			return err
		}
		if r.cfg.Prefetch > 0 {
			if _, err := c.Call(ch, &amqp091.BasicQos{PrefetchCount: uint16(min(r.cfg.Prefetch, 65535))}, &amqp091.BasicQosOk{}); err != nil {
				return err
			}
		}
		if _, err := c.Call(ch, &amqp091.BasicConsume{Queue: q, NoAck: r.cfg.AutoAck}, &amqp091.BasicConsumeOk{}); err != nil {
			return err
		}
	}
	ready()
	nc := &nativeConsumer{r: r, c: c, chans: make([]delivery, len(queues)+1)}
	err = nc.loop()
	r.delivered.Add(nc.count)
	r.merge(&nc.lat, nil)
	r.mergeTiming(nil, &nc.trans)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// loop reads deliveries until the connection fails or is aborted.
func (nc *nativeConsumer) loop() error {
	for {
		f, err := nc.c.ReadFrame()
		if err != nil {
			return err
		}
		if int(f.Channel) >= len(nc.chans) {
			continue
		}
		d := &nc.chans[f.Channel]
		switch f.Type {
		case amqp091.FrameMethod:
			if err := nc.method(d, f.Payload); err != nil {
				return err
			}
		case amqp091.FrameHeader:
			if len(f.Payload) < 12 {
				return amqp091.ErrShortPayload
			}
			d.remaining = binary.BigEndian.Uint64(f.Payload[4:12])
			if d.remaining == 0 {
				nc.complete(f.Channel, d)
			}
		case amqp091.FrameBody:
			if d.first && len(f.Payload) >= minBody {
				d.stamp = stampOf(f.Payload)
				d.sent = nc.r.sentOf(f.Payload)
			}
			d.first = false
			d.remaining -= min(d.remaining, uint64(len(f.Payload)))
			if d.remaining == 0 {
				nc.complete(f.Channel, d)
			}
		}
		// Acknowledge what one read brought in with one write; under a
		// flood of deliveries reads may never end on a frame boundary, so
		// also flush once a few acks are pending.
		if nc.c.Buffered() == 0 || nc.c.w.Len() >= ackFlushBytes {
			if err := nc.c.Flush(); err != nil {
				return err
			}
		}
	}
}

// method handles a method frame on a consumer channel.
func (nc *nativeConsumer) method(d *delivery, payload []byte) error {
	m, err := nc.c.Decode(payload)
	if err != nil {
		return err
	}
	if m, ok := m.(*amqp091.BasicDeliver); ok {
		d.tag, d.first, d.stamp, d.sent = m.DeliveryTag, true, -1, -1
		return nil
	}
	return closeError(m)
}

// complete records a whole delivery and acknowledges every AckEvery.
func (nc *nativeConsumer) complete(ch uint16, d *delivery) {
	now := nc.r.now()
	if nc.r.in(now) {
		nc.count++
		if d.stamp >= 0 {
			nc.lat.Record(now - d.stamp)
		}
		if d.sent >= 0 {
			nc.trans.Record(now - d.sent)
		}
	}
	if nc.r.cfg.AutoAck {
		return
	}
	d.unacked++
	if d.unacked >= nc.r.cfg.AckEvery {
		nc.ack = amqp091.BasicAck{DeliveryTag: d.tag, Multiple: nc.r.cfg.AckEvery > 1}
		nc.c.w.WriteMethod(ch, &nc.ack)
		d.unacked = 0
	}
}
