package amqp

import (
	"slices"
	"sort"
	"time"

	"github.com/junctionmq/junction/protocol/amqp091"
)

// consumer is a basic.consume subscription; the core calls its Deliver
// and Cancelled with a queue lock held.
type consumer struct {
	ch       *channel
	tag      string
	noAck    bool
	replyTo  bool // the direct reply-to pseudo-consumer
	sub      Subscription
	limiters []Limiter

	// Guarded by conn.wmu.
	ready bool       // consume-ok is out: deliveries go straight to the buffer
	early []Delivery // deliveries before consume-ok
	gone  bool       // cancelled by the core
}

// Deliver implements Consumer: it appends basic.deliver, the content
// header and body to the connection's buffer and wakes the writer, or,
// for a delivery a publish makes on its reader's goroutine (d.Via) to a
// connection that wrote nothing for directIdle, leaves the write to that
// reader's end of batch (conn.deferWrite).
func (cs *consumer) Deliver(d Delivery) {
	c := cs.ch.c
	c.wmu.Lock()
	if !cs.ready {
		cs.early = append(cs.early, d)
	} else {
		cs.writeDeliverLocked(d)
	}
	if cs.noAck {
		c.holdFlowLocked(cs)
	}
	small := len(c.w.Buf) < maxDeferred
	c.wmu.Unlock()
	// The publisher's last read stands for now: it read the publish
	// making this delivery a moment ago, and costs no clock read.
	if p, ok := d.Via.(*conn); ok && small && p.lastRead.Load()-c.lastWrite.Load() > int64(directIdle) && p.deferWrite(c) {
		return
	}
	c.signal()
}

// writeDeliverLocked gives the delivery a tag and writes it. On a closing
// channel an acked delivery is only recorded, to be requeued.
func (cs *consumer) writeDeliverLocked(d Delivery) {
	ch, c := cs.ch, cs.ch.c
	ch.nextTag++
	tag := ch.nextTag
	if !cs.noAck {
		var at int64
		if c.s.cfg.ConsumerTimeout > 0 {
			at = monoNow()
		}
		ch.pushUnackedLocked(unacked{tag: tag, d: d, cons: cs, at: at})
	}
	if ch.closing.Load() {
		return
	}
	c.scratchDeliver = amqp091.BasicDeliver{ConsumerTag: cs.tag, DeliveryTag: tag, Redelivered: d.Redelivered,
		Exchange: d.Msg.Exchange, RoutingKey: d.Msg.RoutingKey}
	if err := c.w.WriteContent(ch.id, &c.scratchDeliver, &d.Msg.Props, d.Msg.Body); err != nil {
		c.log().Error("encoding basic.deliver", "err", err)
		return
	}
	c.outMsgs++
	if d.Redelivered {
		c.outRedelivered++
	}
}

// Cancelled implements Consumer: the queue went away. With
// consumer_cancel_notify the client is told by basic.cancel.
func (cs *consumer) Cancelled() {
	c := cs.ch.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if cs.gone {
		return
	}
	cs.gone = true
	if c.clientProps.cancelNotify && !cs.ch.closing.Load() {
		c.writeMethodLocked(cs.ch.id, &amqp091.BasicCancel{ConsumerTag: cs.tag, NoWait: true})
		c.signal()
	}
}

// stop detaches the consumer from its queue (or from direct reply-to).
func (cs *consumer) stop() {
	if cs.sub != nil {
		cs.sub.Cancel()
	}
	if cs.replyTo && cs.ch.replyKey != "" {
		cs.ch.c.s.replyTo.remove(cs.ch.replyKey)
		cs.ch.replyKey = ""
	}
}

func (ch *channel) qos(m *amqp091.BasicQos) error {
	if m.PrefetchSize != 0 {
		return hardErr(amqp091.NotImplemented, "prefetch_size!=0 (%d)", m.PrefetchSize)
	}
	// RabbitMQ 3.x: global=false sets the window of each consumer created
	// after; global=true the window shared by the channel's consumers.
	if m.Global {
		ch.global = uint32(m.PrefetchCount)
		if ch.limiter != nil {
			ch.limiter.SetPrefetch(ch.global)
		}
	} else {
		ch.prefetch = m.PrefetchCount
	}
	ch.shownQos.Store(uint64(ch.prefetch)<<32 | uint64(ch.global))
	ch.c.send(ch.id, &amqp091.BasicQosOk{})
	return nil
}

func (ch *channel) consume(m *amqp091.BasicConsume) error {
	q, err := ch.queueName(m.Queue)
	if err != nil {
		return err
	}
	tag := m.ConsumerTag
	if tag == "" {
		tag = genName("amq.ctag")
	}
	if old, ok := ch.consumers[tag]; ok && !ch.isGone(old) {
		return hardErr(amqp091.NotAllowed, "attempt to reuse consumer tag '%s'", tag)
	}
	cs := &consumer{ch: ch, tag: tag, noAck: m.NoAck}
	if q == replyToQueue {
		return ch.consumeReplyTo(cs, m)
	}
	if !m.NoAck {
		if ch.limiter == nil {
			ch.limiter = ch.c.vhost.NewLimiter(ch.global)
		}
		if ch.prefetch > 0 {
			cs.limiters = append(cs.limiters, ch.c.vhost.NewLimiter(uint32(ch.prefetch)))
		}
		cs.limiters = append(cs.limiters, ch.limiter)
	}
	var flow Limiter
	if m.NoAck {
		flow = ch.c.flowGate()
	}
	sub, err := ch.c.vhost.Consume(q, cs, ConsumeOptions{Tag: tag, NoAck: m.NoAck, Exclusive: m.Exclusive,
		Priority: priority(m.Arguments), Args: m.Arguments, Limiters: cs.limiters,
		Prefetch: uint32(ch.prefetch), GlobalPrefetch: ch.global, Flow: flow})
	if err != nil {
		return ch.fail(err, ch.obj("queue", q, ""))
	}
	cs.sub = sub
	ch.consumers[tag] = cs
	ch.startConsumer(cs, m.NoWait)
	return nil
}

// flowGate returns the flow gate of the connection's no-ack consumers,
// made at the first (writer.go: holdFlowLocked). Reader only.
func (c *conn) flowGate() Limiter {
	if c.flow == nil { // only the reader sets it: no lock to read it here
		l := c.vhost.NewLimiter(0)
		c.wmu.Lock()
		c.flow = l
		c.wmu.Unlock()
	}
	return c.flow
}

// startConsumer sends consume-ok, then the deliveries that came first.
func (ch *channel) startConsumer(cs *consumer, nowait bool) {
	c := ch.c
	c.wmu.Lock()
	if !nowait {
		c.writeMethodLocked(ch.id, &amqp091.BasicConsumeOk{ConsumerTag: cs.tag})
	}
	cs.ready = true
	for _, d := range cs.early {
		cs.writeDeliverLocked(d)
	}
	cs.early = nil
	c.wmu.Unlock()
	c.signal()
}

// consumeReplyTo starts the channel's direct reply-to consumer.
func (ch *channel) consumeReplyTo(cs *consumer, m *amqp091.BasicConsume) error {
	if !m.NoAck {
		return softErr(amqp091.PreconditionFailed, "reply consumer cannot acknowledge")
	}
	if ch.replyKey != "" {
		return softErr(amqp091.PreconditionFailed, "reply consumer already set")
	}
	cs.replyTo = true
	ch.replyKey = genName(replyToQueue + ".g1h2AA5yZXBseQ")
	ch.c.s.replyTo.add(ch.replyKey, cs)
	ch.consumers[cs.tag] = cs
	ch.startConsumer(cs, m.NoWait)
	return nil
}

func (ch *channel) isGone(cs *consumer) bool {
	ch.c.wmu.Lock()
	defer ch.c.wmu.Unlock()
	return cs.gone
}

// priority reads x-priority from consume arguments.
func priority(args interface{ Get(string) (any, bool) }) int32 {
	v, ok := args.Get("x-priority")
	if !ok {
		return 0
	}
	switch n := v.(type) {
	case int8:
		return int32(n)
	case uint8:
		return int32(n)
	case int16:
		return int32(n)
	case uint16:
		return int32(n)
	case int32:
		return n
	case uint32:
		return int32(n)
	case int64:
		return int32(n)
	case uint64:
		return int32(n)
	}
	return 0
}

func (ch *channel) cancel(m *amqp091.BasicCancel) error {
	if cs, ok := ch.consumers[m.ConsumerTag]; ok {
		cs.stop()
		delete(ch.consumers, m.ConsumerTag)
	}
	ch.reply(m.NoWait, &amqp091.BasicCancelOk{ConsumerTag: m.ConsumerTag})
	return nil
}

func (ch *channel) get(m *amqp091.BasicGet) error {
	q, err := ch.queueName(m.Queue)
	if err != nil {
		return err
	}
	d, remaining, ok, err := ch.c.vhost.Get(q, m.NoAck)
	if err != nil {
		return ch.fail(err, ch.obj("queue", q, ""))
	}
	c := ch.c
	c.wmu.Lock()
	defer c.signal()
	defer c.wmu.Unlock()
	if !ok {
		c.writeMethodLocked(ch.id, &amqp091.BasicGetEmpty{})
		return nil
	}
	ch.nextTag++
	tag := ch.nextTag
	if !m.NoAck {
		ch.pushUnackedLocked(unacked{tag: tag, d: d, at: monoNow()})
	}
	ok2 := &amqp091.BasicGetOk{DeliveryTag: tag, Redelivered: d.Redelivered, Exchange: d.Msg.Exchange,
		RoutingKey: d.Msg.RoutingKey, MessageCount: uint32(remaining)}
	if err := c.w.WriteContent(ch.id, ok2, &d.Msg.Props, d.Msg.Body); err != nil {
		c.log().Error("encoding basic.get-ok", "err", err)
		return nil
	}
	c.outMsgs++
	if d.Redelivered {
		c.outRedelivered++
	}
	return nil
}

// monoEpoch is the origin of monoNow.
var monoEpoch = time.Now()

// monoNow returns monotonic nanoseconds since monoEpoch, at least 1 (0
// means "not stamped"): one clock read where time.Now takes two, for the
// delivery time of every acked delivery (consumer_timeout).
func monoNow() int64 { return int64(time.Since(monoEpoch)) + 1 }

// outcome is how deliveries are settled.
type outcome uint8

const (
	settleAck     outcome = iota // basic.ack
	settleRequeue                // nack or reject with requeue
	settleDrop                   // nack or reject without: dropped or dead-lettered
)

func nackOutcome(requeue bool) outcome {
	if requeue {
		return settleRequeue
	}
	return settleDrop
}

// settle handles basic.ack, basic.nack and basic.reject.
func (ch *channel) settle(tag uint64, multiple bool, o outcome) error {
	if !multiple && ch.tx == nil {
		// One tag, as amqp091-go acknowledges: no slice to build.
		ch.c.wmu.Lock()
		u, ok := ch.takeOneLocked(tag)
		ch.c.wmu.Unlock()
		if !ok {
			return softErr(amqp091.PreconditionFailed, "unknown delivery tag %d", tag)
		}
		if o == settleAck {
			ch.c.s.tally.Acked(1)
		}
		ch.settleOne(u, o)
		return nil
	}
	ch.c.wmu.Lock()
	taken, ok := ch.takeLocked(tag, multiple)
	ch.c.wmu.Unlock()
	if !ok {
		return softErr(amqp091.PreconditionFailed, "unknown delivery tag %d", tag)
	}
	if ch.tx != nil {
		ch.tx.acks = append(ch.tx.acks, txSettle{es: taken, o: o})
		return nil
	}
	if o == settleAck {
		ch.c.s.tally.Acked(len(taken))
	}
	settleAll(taken, o)
	return nil
}

// pushUnackedLocked appends a delivery to the unacked ones. Acks take
// deliveries off the front (takeOneLocked), so instead of growing a new
// array when the slice reaches the end of its own, the live deliveries
// move back to the start of it while they fill at most half of it.
func (ch *channel) pushUnackedLocked(u unacked) {
	n, c := len(ch.unacked), cap(ch.unacked)
	if n == c && c > 0 && ch.unackedBase != nil && n <= len(ch.unackedBase)/2 &&
		&ch.unacked[:c][c-1] == &ch.unackedBase[len(ch.unackedBase)-1] {
		copy(ch.unackedBase, ch.unacked)
		clear(ch.unackedBase[n:]) // drop what the moved-from slots still point to
		ch.unacked = ch.unackedBase[:n]
	}
	ch.unacked = append(ch.unacked, u)
	if cap(ch.unacked) != c {
		ch.unackedBase = ch.unacked[:cap(ch.unacked)]
	}
}

// takeOneLocked removes the delivery of one tag. The oldest delivery,
// which an in-order consumer acknowledges, comes off the front without
// moving the others.
func (ch *channel) takeOneLocked(tag uint64) (unacked, bool) {
	if len(ch.unacked) > 0 && ch.unacked[0].tag == tag {
		u := ch.unacked[0]
		ch.unacked[0] = unacked{}
		ch.unacked = ch.unacked[1:]
		return u, true
	}
	i := sort.Search(len(ch.unacked), func(i int) bool { return ch.unacked[i].tag >= tag })
	if i == len(ch.unacked) || ch.unacked[i].tag != tag {
		return unacked{}, false
	}
	u := ch.unacked[i]
	ch.unacked = slices.Delete(ch.unacked, i, i+1)
	return u, true
}

// takeLocked removes the deliveries an ack names: one tag, every tag up
// to it (multiple), or all (multiple with tag 0).
func (ch *channel) takeLocked(tag uint64, multiple bool) ([]unacked, bool) {
	if multiple && tag == 0 {
		all := ch.unacked
		ch.unacked = nil
		return all, true
	}
	if !multiple {
		u, ok := ch.takeOneLocked(tag)
		if !ok {
			return nil, false
		}
		return []unacked{u}, true
	}
	i := sort.Search(len(ch.unacked), func(i int) bool { return ch.unacked[i].tag >= tag })
	if i == len(ch.unacked) || ch.unacked[i].tag != tag {
		return nil, false
	}
	taken := slices.Clone(ch.unacked[:i+1])
	clear(ch.unacked[:i+1])
	ch.unacked = ch.unacked[i+1:]
	return taken, true
}

// restoreLocked puts deliveries back among the unacked (tx.rollback).
func (ch *channel) restoreLocked(es []unacked) {
	ch.unacked = append(ch.unacked, es...)
	slices.SortFunc(ch.unacked, func(a, b unacked) int {
		switch {
		case a.tag < b.tag:
			return -1
		case a.tag > b.tag:
			return 1
		}
		return 0
	})
}

// settleAll settles deliveries in the core, queue by queue, and frees
// their prefetch slots. Called without wmu.
func settleAll(es []unacked, o outcome) {
	for len(es) > 0 {
		q := es[0].d.Queue
		seqs := make([]uint64, 0, len(es))
		n := 0
		for n < len(es) && es[n].d.Queue == q {
			seqs = append(seqs, es[n].d.Seq)
			n++
		}
		if q != nil {
			if o == settleAck {
				q.Ack(seqs)
			} else {
				q.Nack(seqs, o == settleRequeue)
			}
		}
		releaseSlots(es[:n])
		es = es[n:]
	}
}

// settleOne settles one delivery in the core and frees its prefetch
// slots. Reader only: it uses the channel's scratch sequence slice.
func (ch *channel) settleOne(u unacked, o outcome) {
	if q := u.d.Queue; q != nil {
		ch.seqs = append(ch.seqs[:0], u.d.Seq)
		if o == settleAck {
			q.Ack(ch.seqs)
		} else {
			q.Nack(ch.seqs, o == settleRequeue)
		}
	}
	if u.cons != nil {
		for _, l := range u.cons.limiters {
			l.Release(1)
		}
	}
}

// releaseSlots frees the prefetch slots of settled deliveries, one
// Release per run of deliveries of the same consumer.
func releaseSlots(es []unacked) {
	for len(es) > 0 {
		cs := es[0].cons
		n := 1
		for n < len(es) && es[n].cons == cs {
			n++
		}
		if cs != nil {
			for _, l := range cs.limiters {
				l.Release(n)
			}
		}
		es = es[n:]
	}
}

func (ch *channel) recover(requeue, sync bool) error {
	if !requeue {
		return hardErr(amqp091.NotImplemented, "requeue=false")
	}
	ch.c.wmu.Lock()
	all := ch.unacked
	ch.unacked = nil
	ch.c.wmu.Unlock()
	settleAll(all, settleRequeue)
	if sync {
		ch.c.send(ch.id, &amqp091.BasicRecoverOk{})
	}
	return nil
}

// checkConsumerTimeoutsLocked closes, with 406 as RabbitMQ, channels
// whose oldest unacked delivery is older than consumer_timeout. The
// reader releases them at the client's close-ok. Caller holds wmu.
func (c *conn) checkConsumerTimeoutsLocked(now time.Time) {
	ct := c.s.cfg.ConsumerTimeout
	if ct <= 0 {
		return
	}
	for _, ch := range c.channels {
		if ch.closing.Load() || len(ch.unacked) == 0 || ch.unacked[0].at == 0 {
			continue
		}
		if now.Sub(monoEpoch)-time.Duration(ch.unacked[0].at) < ct {
			continue
		}
		re := softErr(amqp091.PreconditionFailed, "delivery acknowledgement on channel %d timed out. "+
			"Timeout value used: %d ms. This timeout value can be configured, see consumers doc guide to learn more",
			ch.id, ct.Milliseconds())
		ch.closing.Store(true)
		c.writeMethodLocked(ch.id, &amqp091.ChannelClose{ReplyCode: re.code, ReplyText: re.text})
	}
}
