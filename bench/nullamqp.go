package bench

import (
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// NullAMQP is an AMQP 0-9-1 server that does no broker work: one logical
// queue, every publish written straight to the last consumer registered,
// no routing, no prefetch window (a consumer gets everything at once), no
// storage, confirms sent as soon as the read buffer empties. The benchmark
// runs the same clients against it (junction-bench null-amqp, the "null"
// broker of bench/compare.sh) to show the ceiling the client alone allows
// on the machine: no broker can deliver faster to that client. The tests
// use it as a fake broker.
type NullAMQP struct {
	ln        net.Listener
	publishes atomic.Int64
	acks      atomic.Int64
	maxBatch  atomic.Int64 // most publishes one read brought in

	mu       sync.Mutex
	consumer *nullConn // guarded by mu
	conns    []net.Conn
	wg       sync.WaitGroup
}

// nullConn is one server-side connection.
type nullConn struct {
	b        *NullAMQP
	nc       net.Conn
	r        *amqp091.Reader
	wmu      sync.Mutex
	w        amqp091.Writer // guarded by wmu
	confirm  bool
	seq      uint64
	consCh   uint16
	consTag  string
	tag      uint64
	body     []byte
	pending  uint64 // body bytes still expected
	pubCh    uint16
	reads    int64 // publishes since the read buffer was last empty
	unsynced uint64
}

// ListenNullAMQP starts a NullAMQP listening on addr (host:port).
func ListenNullAMQP(addr string) (*NullAMQP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b := &NullAMQP{ln: ln}
	b.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, nc)
			b.mu.Unlock()
			c := &nullConn{b: b, nc: nc, r: amqp091.NewReader(nc, 0)}
			b.wg.Go(func() {
				c.serve()
				nc.Close()
				b.mu.Lock()
				b.conns = slices.DeleteFunc(b.conns, func(x net.Conn) bool { return x == nc })
				if b.consumer == c {
					b.consumer = nil
				}
				b.mu.Unlock()
			})
		}
	})
	return b, nil
}

// Addr is the address b listens on.
func (b *NullAMQP) Addr() net.Addr { return b.ln.Addr() }

// Close stops b: the listener and every connection.
func (b *NullAMQP) Close() error {
	err := b.ln.Close()
	b.mu.Lock()
	for _, nc := range b.conns {
		nc.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
	return err
}

func (b *NullAMQP) uri() string { return "amqp://guest:guest@" + b.ln.Addr().String() + "/" }

// flush writes c's buffered frames.
func (c *nullConn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if len(c.w.Buf) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.w.Buf)
	c.w.Reset()
	return err
}

func (c *nullConn) buffered() int {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return len(c.w.Buf)
}

func (c *nullConn) send(ch uint16, m amqp091.Method) {
	c.wmu.Lock()
	c.w.WriteMethod(ch, m)
	c.wmu.Unlock()
}

func (c *nullConn) serve() error {
	if err := c.r.ReadProtocolHeader(); err != nil {
		return err
	}
	c.send(0, &amqp091.ConnectionStart{VersionMinor: 9, Mechanisms: "PLAIN", Locales: "en_US"})
	c.send(0, &amqp091.ConnectionTune{ChannelMax: 2047, FrameMax: 131072})
	if err := c.flush(); err != nil {
		return err
	}
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			return err
		}
		if err := c.frame(f); err != nil {
			return err
		}
		if c.r.Buffered() == 0 {
			c.b.maxBatch.Store(max(c.b.maxBatch.Load(), c.reads))
			c.reads = 0
			if c.confirm && c.unsynced > 0 {
				c.send(1, &amqp091.BasicAck{DeliveryTag: c.seq, Multiple: true})
				c.unsynced = 0
			}
			if err := c.flush(); err != nil {
				return err
			}
		}
		if cons := c.consumerConn(); cons != nil && cons != c && (c.r.Buffered() == 0 || cons.buffered() >= 64<<10) {
			cons.flush()
		}
	}
}

var errClosed = errors.New("null broker: connection closed")

// frame handles one frame.
func (c *nullConn) frame(f amqp091.Frame) error {
	switch f.Type {
	case amqp091.FrameHeader:
		var h amqp091.ContentHeader
		if err := h.Decode(f.Payload); err != nil {
			return err
		}
		c.body, c.pending = c.body[:0], h.BodySize
		if c.pending == 0 {
			c.published()
		}
	case amqp091.FrameBody:
		c.body = append(c.body, f.Payload...)
		c.pending -= uint64(len(f.Payload))
		if c.pending == 0 {
			c.published()
		}
	case amqp091.FrameMethod:
		m, err := amqp091.DecodeMethod(f.Payload)
		if err != nil {
			return err
		}
		return c.method(f.Channel, m)
	}
	return nil
}

// method answers a method frame.
func (c *nullConn) method(ch uint16, m amqp091.Method) error {
	var reply amqp091.Method
	switch m := m.(type) {
	case *amqp091.ConnectionStartOk, *amqp091.ConnectionTuneOk:
	case *amqp091.ConnectionOpen:
		reply = &amqp091.ConnectionOpenOk{}
	case *amqp091.ConnectionClose:
		c.send(0, &amqp091.ConnectionCloseOk{})
		c.flush()
		return errClosed
	case *amqp091.ChannelOpen:
		reply = &amqp091.ChannelOpenOk{}
	case *amqp091.ChannelClose:
		reply = &amqp091.ChannelCloseOk{}
	case *amqp091.QueueDeclare:
		reply = &amqp091.QueueDeclareOk{Queue: m.Queue}
	case *amqp091.QueueDelete:
		reply = &amqp091.QueueDeleteOk{}
	case *amqp091.BasicQos:
		reply = &amqp091.BasicQosOk{}
	case *amqp091.ConfirmSelect:
		c.confirm = true
		reply = &amqp091.ConfirmSelectOk{}
	case *amqp091.BasicConsume:
		c.consCh, c.consTag = ch, m.ConsumerTag
		if c.consTag == "" {
			c.consTag = "ctag-1"
		}
		c.b.mu.Lock()
		c.b.consumer = c
		c.b.mu.Unlock()
		reply = &amqp091.BasicConsumeOk{ConsumerTag: c.consTag}
	case *amqp091.BasicPublish:
		c.pubCh = ch
	case *amqp091.BasicAck:
		c.b.acks.Add(1)
	default:
		reply = nil
	}
	if reply != nil {
		c.send(ch, reply)
	}
	return nil
}

func (c *nullConn) consumerConn() *nullConn {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return c.b.consumer
}

// published routes a complete publish to the consumer.
func (c *nullConn) published() {
	c.b.publishes.Add(1)
	c.reads++
	// Recorded as it grows, not only when the read buffer empties: on a
	// loaded machine a steady stream may keep it from emptying until the
	// run is over.
	c.b.maxBatch.Store(max(c.b.maxBatch.Load(), c.reads))
	if c.confirm {
		c.seq++
		c.unsynced++
	}
	cons := c.consumerConn()
	if cons == nil {
		return
	}
	cons.wmu.Lock()
	cons.tag++
	props := message.Properties{}
	cons.w.WriteContent(cons.consCh, &amqp091.BasicDeliver{ConsumerTag: cons.consTag, DeliveryTag: cons.tag}, &props, c.body)
	cons.wmu.Unlock()
}
