package amqp

import (
	"strings"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/tally"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// startPublish begins a basic.publish; its content header and body follow.
func (ch *channel) startPublish(m *amqp091.BasicPublish) error {
	if m.Immediate {
		return hardErr(amqp091.NotImplemented, "immediate=true")
	}
	ch.pub = publishing{exchange: m.Exchange, key: m.RoutingKey, mandatory: m.Mandatory}
	ch.state = expectHeader
	if !ch.c.published.Load() {
		ch.c.published.Store(true) // from now on, resource alarms block this connection
	}
	return nil
}

// maxPrealloc bounds the body buffer allocated before the body arrives,
// so that a header announcing a large body costs memory only as the body
// comes.
const maxPrealloc = 1 << 20

// handleHeader reads the content header of a publish. AMQP 0-9-1 4.2.6.1.
func (ch *channel) handleHeader(payload []byte) error {
	h, err := ch.c.dec.DecodeHeader(payload)
	if err != nil {
		return codecErr(err)
	}
	if h.ClassID != amqp091.ClassBasic {
		return hardErr(amqp091.FrameError, "content header for class %d, expected class 60", h.ClassID)
	}
	if max := ch.c.s.cfg.MaxMessageSize; h.BodySize > max {
		ch.state = expectMethod
		return softErr(amqp091.PreconditionFailed, "message size %d is larger than configured max size %d", h.BodySize, max)
	}
	ch.pub.props = h.Props
	ch.pub.size = h.BodySize
	if h.BodySize == 0 {
		return ch.finishPublish()
	}
	if h.BodySize <= smallBody {
		ch.pub.small = new(smallMessage)
		ch.pub.body = ch.pub.small.body[:0:h.BodySize]
	} else {
		ch.pub.body = make([]byte, 0, min(h.BodySize, maxPrealloc))
	}
	ch.state = expectBody
	return nil
}

// smallBody is the largest body that shares one allocation with its
// message (smallMessage): one allocation per publish instead of two.
const smallBody = 64

// smallMessage is a message whose body lives in the same allocation.
type smallMessage struct {
	msg  message.Message
	body [smallBody]byte
}

// handleBody appends a body frame. AMQP 0-9-1 4.2.6.2.
func (ch *channel) handleBody(p []byte) error {
	if uint64(len(ch.pub.body))+uint64(len(p)) > ch.pub.size {
		return hardErr(amqp091.FrameError, "content body larger than its header announced (%d bytes)", ch.pub.size)
	}
	ch.pub.body = append(ch.pub.body, p...)
	if uint64(len(ch.pub.body)) == ch.pub.size {
		return ch.finishPublish()
	}
	return nil
}

// finishPublish hands a complete message to the core (or to the open
// transaction).
func (ch *channel) finishPublish() error {
	p := ch.pub
	ch.pub = publishing{}
	ch.state = expectMethod
	var msg *message.Message
	if p.small != nil {
		msg = &p.small.msg
	} else {
		msg = new(message.Message)
	}
	*msg = message.Message{
		Exchange:   p.exchange,
		RoutingKey: p.key,
		Props:      p.props,
		Body:       p.body,
		Origin:     message.FaceAMQP,
		Arrived:    ch.c.arrived(),
	}
	if msg.Props.Flags&message.FlagUserID != 0 && msg.Props.UserID != ch.c.user {
		return softErr(amqp091.PreconditionFailed, "user_id property set to '%s' but authenticated user was '%s'",
			msg.Props.UserID, ch.c.user)
	}
	if msg.Props.Flags&message.FlagReplyTo != 0 && msg.Props.ReplyTo == replyToQueue {
		if ch.replyKey == "" {
			return softErr(amqp091.PreconditionFailed, "fast reply consumer does not exist")
		}
		msg.Props.ReplyTo = ch.replyKey
	}
	if ch.tx != nil {
		ch.tx.pubs = append(ch.tx.pubs, txPublish{msg: msg, mandatory: p.mandatory})
		return nil
	}
	return ch.route(msg, p.mandatory)
}

// route publishes a message, returns it when mandatory and unroutable,
// and tracks its confirm.
func (ch *channel) route(msg *message.Message, mandatory bool) error {
	var seq uint64
	var done func(bool)
	if ch.confirm {
		ch.c.wmu.Lock()
		seq = ch.confirms.add()
		ch.c.wmu.Unlock()
		done = func(ack bool) { ch.confirmed(seq, ack) }
	}
	var routed bool
	if msg.Exchange == "" && strings.HasPrefix(msg.RoutingKey, replyToQueue+".") {
		routed = ch.c.s.deliverReply(msg)
	} else {
		var err error
		var wait <-chan struct{}
		if fp, ok := ch.c.vhost.(flowPublisher); ok {
			routed, wait, err = fp.PublishFlow(msg, done, ch.c)
			if wait != nil {
				ch.c.flowWait = wait
			}
		} else {
			routed, err = ch.c.vhost.Publish(msg, done)
		}
		if err != nil {
			return ch.fail(err, ch.obj("exchange", "", msg.Exchange))
		}
	}
	if routed {
		if done != nil && !ch.isCorePublish(msg) {
			done(true)
		}
		return nil
	}
	c := ch.c
	c.wmu.Lock()
	if !mandatory {
		c.s.tally.Dropped(tally.Unroutable, 1)
	} else {
		ret := &amqp091.BasicReturn{ReplyCode: amqp091.NoRoute, ReplyText: "NO_ROUTE",
			Exchange: msg.Exchange, RoutingKey: msg.RoutingKey}
		if err := c.w.WriteContent(ch.id, ret, &msg.Props, msg.Body); err != nil {
			c.log().Error("encoding basic.return", "err", err)
		}
	}
	if ch.confirm {
		ch.confirmedLocked(seq, true)
	}
	c.wmu.Unlock()
	c.signal()
	return nil
}

// isCorePublish reports whether the core (not the face) routed msg, and
// so owns its confirm.
func (ch *channel) isCorePublish(msg *message.Message) bool {
	return !(msg.Exchange == "" && strings.HasPrefix(msg.RoutingKey, replyToQueue+"."))
}

// deliverReply delivers a direct reply-to message to the channel that
// waits for it. AMQP: RabbitMQ's direct reply-to.
func (s *Server) deliverReply(msg *message.Message) bool {
	cs := s.replyTo.get(msg.RoutingKey)
	if cs == nil {
		return false
	}
	cs.Deliver(Delivery{Msg: msg})
	return true
}

// confirmState tracks publisher confirms of a channel. Guarded by wmu.
type confirmState struct {
	next     uint64  // the last sequence number given out
	first    uint64  // the sequence number of pending[0]
	pending  []uint8 // per publish from first: 0 waiting, 1 settled
	ackUpTo  uint64  // every publish up to here is settled
	sentUpTo uint64  // acks were sent up to here
}

// add numbers a new publish. AMQP: RabbitMQ's publisher confirms count
// from 1.
func (s *confirmState) add() uint64 {
	s.next++
	if len(s.pending) == 0 {
		s.first = s.next
	}
	s.pending = append(s.pending, 0)
	return s.next
}

// confirmed is the core's callback for a publish's outcome.
func (ch *channel) confirmed(seq uint64, ack bool) {
	ch.c.wmu.Lock()
	ch.confirmedLocked(seq, ack)
	ch.c.wmu.Unlock()
	ch.c.signal()
}

// confirmedLocked records a confirm. A nack goes out at once; acks are
// coalesced into one basic.ack (multiple) at the writer's next flush.
func (ch *channel) confirmedLocked(seq uint64, ack bool) {
	s := &ch.confirms
	if seq < s.first || seq-s.first >= uint64(len(s.pending)) {
		return
	}
	s.pending[seq-s.first] = 1
	if !ack && !ch.closing.Load() {
		ch.c.writeMethodLocked(ch.id, &amqp091.BasicNack{DeliveryTag: seq})
	}
	n := 0
	for n < len(s.pending) && s.pending[n] == 1 {
		n++
	}
	if n == 0 {
		return
	}
	s.first += uint64(n)
	s.pending = s.pending[n:]
	if ack || n > 1 {
		if s.ackUpTo == s.sentUpTo {
			// Listed once until the flush sends its basic.ack (multiple).
			ch.c.confirmDirty = append(ch.c.confirmDirty, ch)
		}
		s.ackUpTo = s.first - 1
	}
}

// appendConfirmsLocked writes the coalesced acks before a flush.
func (c *conn) appendConfirmsLocked() {
	for _, ch := range c.confirmDirty {
		s := &ch.confirms
		if s.ackUpTo <= s.sentUpTo || ch.closing.Load() {
			continue
		}
		c.writeMethodLocked(ch.id, &amqp091.BasicAck{DeliveryTag: s.ackUpTo, Multiple: s.ackUpTo-s.sentUpTo > 1})
		s.sentUpTo = s.ackUpTo
	}
	clear(c.confirmDirty)
	c.confirmDirty = c.confirmDirty[:0]
}

func (ch *channel) confirmSelect(m *amqp091.ConfirmSelect) error {
	if ch.tx != nil {
		return softErr(amqp091.PreconditionFailed, "cannot switch from tx to confirm mode")
	}
	ch.confirm = true
	ch.shownMode.Or(shownConfirm)
	ch.reply(m.NoWait, &amqp091.ConfirmSelectOk{})
	return nil
}

// txState holds a transaction's publishes and settlements until commit.
type txState struct {
	pubs []txPublish
	acks []txSettle
}

type txPublish struct {
	msg       *message.Message
	mandatory bool
}

type txSettle struct {
	es []unacked
	o  outcome
}

// takeAcks returns the deliveries the transaction would settle.
func (t *txState) takeAcks() []unacked {
	var all []unacked
	for _, a := range t.acks {
		all = append(all, a.es...)
	}
	t.acks = nil
	return all
}

func (ch *channel) txSelect() error {
	if ch.confirm {
		return softErr(amqp091.PreconditionFailed, "cannot switch from confirm to tx mode")
	}
	if ch.tx == nil {
		ch.tx = &txState{}
		ch.shownMode.Or(shownTx)
	}
	ch.c.send(ch.id, &amqp091.TxSelectOk{})
	return nil
}

func (ch *channel) txCommit() error {
	if ch.tx == nil {
		return softErr(amqp091.PreconditionFailed, "channel is not transactional")
	}
	pubs, acks := ch.tx.pubs, ch.tx.acks
	ch.tx.pubs, ch.tx.acks = nil, nil
	for _, p := range pubs {
		if err := ch.route(p.msg, p.mandatory); err != nil {
			return err
		}
	}
	for _, a := range acks {
		if a.o == settleAck {
			ch.c.s.tally.Acked(len(a.es))
		}
		settleAll(a.es, a.o)
	}
	ch.c.send(ch.id, &amqp091.TxCommitOk{})
	return nil
}

func (ch *channel) txRollback() error {
	if ch.tx == nil {
		return softErr(amqp091.PreconditionFailed, "channel is not transactional")
	}
	back := ch.tx.takeAcks()
	ch.tx.pubs = nil
	ch.c.wmu.Lock()
	ch.restoreLocked(back)
	ch.c.wmu.Unlock()
	ch.c.send(ch.id, &amqp091.TxRollbackOk{})
	return nil
}

// flowPublisher is a Vhost that reports congestion of the queues a
// publish reached (core.Vhost.PublishFlow): the reader then waits before
// taking the next frame, as RabbitMQ's credit flow holds a publisher back.
//
// The reader passes its conn as via: the deliveries the publish makes on
// the reader's goroutine come back with it (Delivery.Via), and the reader
// writes them to their consumers' sockets at the end of its batch
// (conn.deferWrite) instead of waking each consumer's writer.
type flowPublisher interface {
	PublishFlow(m *message.Message, done func(ack bool), via any) (routed bool, wait <-chan struct{}, err error)
}

// flowMaxWait bounds one wait for a congested queue; the queue ends its
// congestion itself when its consumers stall, so this is only a backstop.
const flowMaxWait = 200 * time.Millisecond

// waitForFlow holds the reader while a queue the last publish reached is
// congested. Called by the reader goroutine only.
func (c *conn) waitForFlow() {
	w := c.flowWait
	if w == nil {
		return
	}
	c.flowWait = nil
	t := time.NewTimer(flowMaxWait)
	select {
	case <-w:
	case <-t.C:
	}
	t.Stop()
}
