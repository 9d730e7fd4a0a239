package bench

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/persist"
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
//
// With a log file (ListenNullAMQPDurable) it is the ceiling of a durable
// broker instead: with confirms on, every publish is appended to the file
// and confirmed only once an fdatasync covers it, by one syncer that
// commits whatever arrived during the previous sync (group commit), as a
// write-ahead log would. It still never reads the log back, deletes
// nothing and waits for no consumer.
type NullAMQP struct {
	ln        net.Listener
	publishes atomic.Int64
	acks      atomic.Int64
	maxBatch  atomic.Int64 // most publishes one read brought in

	mu       sync.Mutex
	consumer *nullConn // guarded by mu
	conns    []net.Conn
	wg       sync.WaitGroup

	log *nullLog // nil: confirms at once
}

// nullLog is a durable NullAMQP's write-ahead log: publishes are appended
// to buf, and the syncer writes and syncs them, then confirms.
type nullLog struct {
	f     *os.File
	mu    sync.Mutex
	buf   []byte               // guarded by mu: records not yet written
	upTo  map[*nullConn]uint64 // guarded by mu: highest seq in buf, per connection
	off   int64                // syncer only: where the next group is written
	kick  chan struct{}
	done  chan struct{}
	syncs atomic.Int64
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
func ListenNullAMQP(addr string) (*NullAMQP, error) { return listenNull(addr, nil) }

// ListenNullAMQPDurable starts a durable NullAMQP (see NullAMQP) whose
// log is the file at path, created or truncated.
func ListenNullAMQPDurable(addr, path string) (*NullAMQP, error) {
	f, err := os.Create(path)
	if err == nil {
		err = prezero(f)
	}
	if err != nil {
		return nil, err
	}
	l := &nullLog{f: f, upTo: map[*nullConn]uint64{}, kick: make(chan struct{}, 1), done: make(chan struct{})}
	b, err := listenNull(addr, l)
	if err != nil {
		f.Close()
		return nil, err
	}
	b.wg.Go(l.run)
	return b, nil
}

func listenNull(addr string, l *nullLog) (*NullAMQP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b := &NullAMQP{ln: ln, log: l}
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

// Close stops b: the listener, every connection and the log's syncer.
func (b *NullAMQP) Close() error {
	err := b.ln.Close()
	b.mu.Lock()
	for _, nc := range b.conns {
		nc.Close()
	}
	b.mu.Unlock()
	if b.log != nil {
		close(b.log.done)
	}
	b.wg.Wait()
	if b.log != nil {
		b.log.f.Close()
	}
	return err
}

// Syncs is how many fdatasyncs a durable NullAMQP's log made.
func (b *NullAMQP) Syncs() int64 {
	if b.log == nil {
		return 0
	}
	return b.log.syncs.Load()
}

// nullLogSize is the size of a durable NullAMQP's log file. Written
// through zeros and synced up front, so that a sync of what the run
// appends has no file size or block allocation to commit (as the store's
// preallocated memtable logs do), it is then reused from its start when
// full: the log is never read back.
const nullLogSize = 64 << 20

// prezero fills f with nullLogSize zeros and syncs them.
func prezero(f *os.File) error {
	zeros := make([]byte, 1<<20)
	for range nullLogSize / len(zeros) {
		if _, err := f.Write(zeros); err != nil {
			return err
		}
	}
	return persist.Fdatasync(f)
}

// append logs publish seq of c (its body) for the syncer.
func (l *nullLog) append(c *nullConn, seq uint64, body []byte) {
	l.mu.Lock()
	l.buf = binary.BigEndian.AppendUint64(l.buf, seq)
	l.buf = binary.BigEndian.AppendUint32(l.buf, uint32(len(body)))
	l.buf = append(l.buf, body...)
	l.upTo[c] = seq
	l.mu.Unlock()
}

// commit has the syncer commit what was appended.
func (l *nullLog) commit() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// run is the syncer: it writes what was appended, syncs it, and confirms
// it, one group at a time, until the log is closed.
func (l *nullLog) run() {
	var spare []byte
	confirm := map[*nullConn]uint64{}
	for {
		select {
		case <-l.kick:
		case <-l.done:
			return
		}
		l.mu.Lock()
		buf := l.buf
		l.buf = spare[:0]
		for c, seq := range l.upTo {
			confirm[c] = seq
		}
		clear(l.upTo)
		l.mu.Unlock()
		if len(buf) == 0 {
			spare = buf
			continue
		}
		if l.off+int64(len(buf)) > nullLogSize {
			l.off = 0
		}
		if _, err := l.f.WriteAt(buf, l.off); err != nil {
			return
		}
		l.off += int64(len(buf))
		if err := persist.Fdatasync(l.f); err != nil {
			return
		}
		l.syncs.Add(1)
		spare = buf[:0]
		for c, seq := range confirm {
			c.send(1, &amqp091.BasicAck{DeliveryTag: seq, Multiple: true})
			c.flush()
		}
		clear(confirm)
	}
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
				if c.b.log != nil {
					c.b.log.commit()
				} else {
					c.send(1, &amqp091.BasicAck{DeliveryTag: c.seq, Multiple: true})
				}
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
		if c.b.log != nil {
			c.b.log.append(c, c.seq, c.body)
		}
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
