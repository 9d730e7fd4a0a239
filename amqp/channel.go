package amqp

import (
	"sync/atomic"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// contentState is where a channel is in a content-bearing method's frame
// sequence: method, header, body frames. AMQP 0-9-1 4.2.6.
type contentState uint8

const (
	expectMethod contentState = iota
	expectHeader
	expectBody
)

// channel is one AMQP channel. Fields above the wmu line are owned by the
// connection's reader goroutine; the ones below by conn.wmu.
type channel struct {
	c       *conn
	id      uint16
	closing atomic.Bool // channel.close sent: drop frames until close-ok

	state     contentState
	pub       publishing
	consumers map[string]*consumer
	prefetch  uint16  // basic.qos global=false: the next consumers' window
	global    uint32  // basic.qos global=true: the channel's window
	limiter   Limiter // channel-wide limiter, made at the first acking consume
	lastQueue string  // the queue last declared, for empty queue names
	confirm   bool
	tx        *txState
	replyKey  string   // direct reply-to routing key, once consumed
	seqs      []uint64 // scratch for settleOne

	// Copies of the reader-owned settings for the management API's
	// channel listings (introspect.go), written by the reader.
	shownMode atomic.Uint32 // shownConfirm | shownTx
	shownQos  atomic.Uint64 // basic.qos: global=false count << 32 | global=true count

	// Guarded by c.wmu.
	nextTag uint64
	unacked []unacked // in delivery tag order
	// unackedBase is the whole array unacked was last allocated in, so
	// pushUnackedLocked can move deliveries back to its start.
	unackedBase []unacked
	confirms    confirmState
}

// The bits of channel.shownMode.
const (
	shownConfirm = 1 << iota
	shownTx
)

// unacked is a delivery awaiting ack, nack or reject.
type unacked struct {
	tag  uint64
	d    Delivery
	cons *consumer // nil for basic.get
	at   int64     // monoNow at the delivery, for consumer_timeout (0: none)
}

// publishing is a basic.publish being assembled from its frames.
type publishing struct {
	exchange, key string
	mandatory     bool
	props         message.Properties
	size          uint64
	body          []byte
	small         *smallMessage // the message and body in one allocation, for a small body
}

func newChannel(c *conn, id uint16) *channel {
	return &channel{c: c, id: id, consumers: map[string]*consumer{}}
}

// handleFrame handles one frame for the channel. Soft errors close the
// channel here; the error returned is a hard one for the connection.
func (ch *channel) handleFrame(f amqp091.Frame) error {
	if ch.closing.Load() {
		return ch.handleWhileClosing(f)
	}
	switch f.Type {
	case amqp091.FrameMethod:
		if ch.state != expectMethod {
			return ch.unexpectedFrame()
		}
		m, err := ch.c.dec.DecodeMethod(f.Payload)
		if err != nil {
			return codecErr(err)
		}
		return ch.check(ch.dispatch(m), m)
	case amqp091.FrameHeader:
		if ch.state != expectHeader {
			return ch.unexpectedFrame()
		}
		return ch.check(ch.handleHeader(f.Payload), nil)
	case amqp091.FrameBody:
		if ch.state != expectBody {
			return ch.unexpectedFrame()
		}
		return ch.check(ch.handleBody(f.Payload), nil)
	}
	return hardErr(amqp091.FrameError, "unexpected frame type %d", f.Type)
}

// unexpectedFrame is the 505 for a frame the channel's state does not
// expect, worded by what it expects, as rabbit_command_assembler does.
func (ch *channel) unexpectedFrame() *replyError {
	switch ch.state {
	case expectHeader:
		return hardErr(amqp091.UnexpectedFrame, "expected content header for class 60, got non content header frame instead")
	case expectBody:
		return hardErr(amqp091.UnexpectedFrame, "expected content body, got non content body frame instead")
	}
	return hardErr(amqp091.UnexpectedFrame, "expected method frame, got non method frame instead")
}

// check turns a handler's error into a channel close (soft) or returns it
// for the connection (hard).
func (ch *channel) check(err error, m amqp091.Method) error {
	if err == nil {
		return nil
	}
	re := replyFor(err, object{vhost: ch.c.vhostName(), user: ch.c.user})
	if m != nil && re.classID == 0 {
		re.classID, re.methodID = m.ClassID(), m.MethodID()
	}
	if re.hard {
		return re
	}
	ch.closeWith(re)
	return nil
}

// closeWith closes the channel for a soft error: channel.close is sent,
// the channel's consumers and deliveries are released at once, and frames
// are dropped until the client's close-ok.
func (ch *channel) closeWith(re *replyError) {
	ch.c.log().Debug("closing channel", "channel", ch.id, "code", re.code, "text", re.text)
	ch.c.wmu.Lock()
	ch.closing.Store(true)
	ch.c.writeMethodLocked(ch.id, &amqp091.ChannelClose{
		ReplyCode: re.code, ReplyText: re.text,
		FailedClassID: re.classID, FailedMethodID: re.methodID,
	})
	ch.c.wmu.Unlock()
	ch.c.signal()
	ch.release()
}

// handleWhileClosing drops frames after channel.close until close-ok.
func (ch *channel) handleWhileClosing(f amqp091.Frame) error {
	if f.Type != amqp091.FrameMethod {
		return nil
	}
	m, err := amqp091.DecodeMethod(f.Payload)
	if err != nil {
		return nil
	}
	switch m.(type) {
	case *amqp091.ChannelCloseOk:
		ch.release() // a close the writer started (consumer timeout)
		ch.forget()
	case *amqp091.ChannelClose:
		// Both sides closed at once: answer, and keep the channel
		// number taken until the client's close-ok for our close
		// arrives, as rabbit_channel does in its closing state. AMQP
		// 0-9-1 4.2.2 (closing handshake).
		ch.release()
		ch.c.send(ch.id, &amqp091.ChannelCloseOk{})
	}
	return nil
}

// forget removes the channel from the connection, freeing its number.
func (ch *channel) forget() {
	ch.c.lastCh = nil
	ch.c.wmu.Lock()
	delete(ch.c.channels, ch.id)
	ch.c.wmu.Unlock()
}

// dispatch runs one method. The one long switch of the face.
func (ch *channel) dispatch(m amqp091.Method) error {
	switch m.(type) {
	case *amqp091.BasicAck, *amqp091.BasicNack, *amqp091.BasicReject:
		// A settle lets deliveries out to this connection. When it is
		// the last frame read, the reader is about to read again:
		// endBatch writes them then (see signal). Otherwise the writer
		// runs beside the reader, as for anything else, so that a long
		// run of acks does not hold back deliveries from other
		// connections' publishes. On a channel with a prefetch window
		// of refillMinWindow or more, the deliveries may wait for more
		// acks (holdRefill): the reader holds the wakes for its whole
		// run of acks (at most a read buffer), and endBatch decides.
		switch {
		case ch.prefetch >= refillMinWindow || ch.global >= refillMinWindow:
			if ch.c.refillCh != ch {
				ch.c.endBatch()
			}
			ch.c.inBatch.Store(true)
			ch.c.refillCh = ch
			if n, ok := m.(*amqp091.BasicNack); ok && n.Multiple {
				ch.c.refillMulti = true
			} else if a, ok := m.(*amqp091.BasicAck); ok && a.Multiple {
				ch.c.refillMulti = true
			}
		case ch.c.r.Buffered() == 0:
			ch.c.inBatch.Store(true)
		default:
			ch.c.endBatch()
		}
	default:
		// Anything else (a publish, whose confirm the writer sends while
		// the reader goes on; a declare that may wait for the disk): what
		// the acks produced goes out first, and wakes are immediate again.
		ch.c.endBatch()
	}
	switch m := m.(type) {
	case *amqp091.BasicPublish:
		return ch.startPublish(m)
	case *amqp091.BasicAck:
		return ch.settle(m.DeliveryTag, m.Multiple, settleAck)
	case *amqp091.BasicNack:
		return ch.settle(m.DeliveryTag, m.Multiple, nackOutcome(m.Requeue))
	case *amqp091.BasicReject:
		return ch.settle(m.DeliveryTag, false, nackOutcome(m.Requeue))
	case *amqp091.BasicQos:
		return ch.qos(m)
	case *amqp091.BasicConsume:
		if err := ch.checkConsumerMax(m.ConsumerTag); err != nil {
			return err
		}
		return ch.consume(m)
	case *amqp091.BasicCancel:
		return ch.cancel(m)
	case *amqp091.BasicGet:
		return ch.get(m)
	case *amqp091.BasicRecover:
		return ch.recover(m.Requeue, true)
	case *amqp091.BasicRecoverAsync:
		return ch.recover(m.Requeue, false)
	case *amqp091.ExchangeDeclare:
		return ch.exchangeDeclare(m)
	case *amqp091.ExchangeDelete:
		return ch.exchangeDelete(m)
	case *amqp091.ExchangeBind:
		return ch.exchangeBind(m)
	case *amqp091.ExchangeUnbind:
		return ch.exchangeUnbind(m)
	case *amqp091.QueueDeclare:
		return ch.queueDeclare(m)
	case *amqp091.QueueBind:
		return ch.queueBind(m)
	case *amqp091.QueueUnbind:
		return ch.queueUnbind(m)
	case *amqp091.QueuePurge:
		return ch.queuePurge(m)
	case *amqp091.QueueDelete:
		return ch.queueDelete(m)
	case *amqp091.ConfirmSelect:
		return ch.confirmSelect(m)
	case *amqp091.TxSelect:
		return ch.txSelect()
	case *amqp091.TxCommit:
		return ch.txCommit()
	case *amqp091.TxRollback:
		return ch.txRollback()
	case *amqp091.ChannelFlow:
		if !m.Active {
			return hardErr(amqp091.NotImplemented, "active=false")
		}
		ch.c.send(ch.id, &amqp091.ChannelFlowOk{Active: true})
		return nil
	case *amqp091.ChannelFlowOk:
		return nil
	case *amqp091.ChannelClose:
		ch.release()
		ch.c.lastCh = nil
		ch.c.wmu.Lock()
		ch.c.writeMethodLocked(ch.id, &amqp091.ChannelCloseOk{})
		delete(ch.c.channels, ch.id)
		ch.c.wmu.Unlock()
		ch.c.signal()
		return nil
	case *amqp091.ChannelCloseOk:
		return nil
	case *amqp091.ChannelOpen:
		return hardErr(amqp091.ChannelError, "second 'channel.open' seen")
	case *amqp091.AccessRequest:
		ch.c.send(ch.id, &amqp091.AccessRequestOk{Reserved1: 1})
		return nil
	}
	return hardErr(amqp091.CommandInvalid, "unexpected method '%s' on channel %d", m.Name(), ch.id)
}

// checkConsumerMax refuses a new consumer past consumer_max_per_channel
// with 530, as rabbit_channel does; a reused tag gets its own error. As
// there, the direct reply-to consumer is not counted (it is refused past
// the limit all the same).
func (ch *channel) checkConsumerMax(tag string) error {
	limit := ch.c.s.cfg.ConsumerMaxPerChannel
	if limit <= 0 || len(ch.consumers) < limit {
		return nil
	}
	live := 0
	for t, cs := range ch.consumers {
		if t == tag && !ch.isGone(cs) {
			return nil // consume answers "attempt to reuse consumer tag"
		}
		if !cs.replyTo && !ch.isGone(cs) {
			live++
		}
	}
	if live >= limit {
		return hardErr(amqp091.NotAllowed, "reached maximum (%d) of consumers per channel", limit)
	}
	return nil
}

// reply sends a method unless the client asked for nowait.
func (ch *channel) reply(nowait bool, m amqp091.Method) {
	if !nowait {
		ch.c.send(ch.id, m)
	}
}

// release gives back what the channel holds: consumers are cancelled and
// unacked deliveries (and acks held by an open transaction) requeued.
func (ch *channel) release() {
	for tag, cs := range ch.consumers {
		cs.stop()
		delete(ch.consumers, tag)
	}
	if ch.replyKey != "" {
		ch.c.s.replyTo.remove(ch.replyKey)
		ch.replyKey = ""
	}
	ch.c.wmu.Lock()
	all := ch.unacked
	ch.unacked = nil
	ch.c.wmu.Unlock()
	if ch.tx != nil {
		all = append(all, ch.tx.takeAcks()...)
		ch.tx = nil
	}
	settleAll(all, nackOutcome(true))
	ch.state = expectMethod
	ch.pub = publishing{}
}
