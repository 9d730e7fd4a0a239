package mqtt

import (
	"errors"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// OnPublish hands a copy of every client publish to the core (the MQTT
// exchange, key mapped) before mochi acknowledges it and fans it out to MQTT
// subscribers, which it still does itself (so NoLocal, retain-as-published
// and retained messages keep mochi's MQTT semantics; the bridge never
// re-injects a message that came from MQTT).
//
// Durability: for QoS 1 and 2 OnPublish waits for the core's confirm, so
// the PUBACK/PUBREC mochi writes after it means the core's copies are safe
// (on disk for durable queues). The wait is one group-committed confirm per
// publish (persist batches concurrent publishes into one write and one
// sync); it holds only this client's read loop, which is MQTT's own flow
// control for that client (Receive Maximum bounds what it may send ahead).
// A refused publish (a full queue with reject-publish, a store failure) is
// answered 0x97/0x83 in MQTT 5; a 3.1.1 client, which has no way to hear a
// refusal, is disconnected without an acknowledgement so that it publishes
// again.
func (h *faceHook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if !cl.Net.Inline {
		h.s.throttle(cl)
		if pk.TopicName != "" {
			pk.TopicName = h.s.rootTopic(cl, pk.TopicName) // vhost.go
		}
	}
	// The copies for persistent sessions are written alongside the core's
	// copy, so both usually share one group commit.
	copied, err := h.s.copies.write(cl, pk)
	if err != nil {
		h.s.inflightRefused.Add(1)
		if cl.Net.Inline {
			// A core message for a full session: mochi drops that copy
			// (counted); the other subscribers still get it.
			return pk, nil
		}
		return pk, h.s.refusePublish(cl, pk, errQuotaExceeded, err)
	}
	if cl.Net.Inline {
		// The bridge's injection of a core message: it acks the core
		// queue once the copies are durable.
		return pk, h.waitCopies(cl, pk, copied)
	}
	err = h.toCore(cl, pk)
	if werr := h.waitCopies(cl, pk, copied); err == nil {
		err = werr
	}
	if err != nil {
		h.s.copies.finish(cl.ID)
	}
	return pk, err
}

// waitCopies waits until the copies for persistent sessions are durable.
func (h *faceHook) waitCopies(cl *mochi.Client, pk packets.Packet, copied func() error) error {
	if copied == nil {
		return nil
	}
	flushHeld(cl) // the wait is a disk write: send the acknowledgements held back first
	if err := copied(); err != nil {
		if cl.Net.Inline {
			h.s.log.Error("mqtt copies for persistent sessions failed", "topic", pk.TopicName, "error", err)
			return nil // the bridge publishes anyway: the core message is not retried
		}
		return h.s.refusePublish(cl, pk, errImplSpecific, err)
	}
	return nil
}

// toCore publishes pk to the core, waiting for its confirm at QoS 1 and 2.
func (h *faceHook) toCore(cl *mochi.Client, pk packets.Packet) error {
	vhost, _ := h.s.identity(cl)
	v, err := h.s.b.Vhost(vhost)
	if err != nil {
		return h.s.refusePublish(cl, pk, errImplSpecific, err)
	}
	m := toCore(h.s.cfg.Exchange, h.s.coreKey(cl, pk.TopicName), pk)
	if pk.FixedHeader.Qos == 0 {
		if _, err := v.Publish(m, nil); err != nil {
			h.s.log.Warn("mqtt publish to core failed", "client", cl.ID, "topic", pk.TopicName, "error", err)
		}
		return nil
	}
	acked, done := confirmOf(cl)
	routed, err := v.Publish(m, done)
	if err != nil {
		return h.s.refusePublish(cl, pk, errImplSpecific, err)
	}
	if !routed {
		return nil
	}
	var ack bool
	select {
	case ack = <-acked: // transient queues confirm at once
	default:
		flushHeld(cl)
		ack = <-acked
	}
	if !ack {
		return h.s.refusePublish(cl, pk, errQuotaExceeded, errors.New("core refused the message"))
	}
	return nil
}

// confirmOf returns the channel a QoS 1/2 publish of cl waits on for the
// core's confirm, and the confirm function that sends to it. A connection
// reuses its own (its read loop handles one publish at a time and receives
// the confirm of every routed publish before the next; an unrouted publish
// is never confirmed), so a publish allocates neither.
func confirmOf(cl *mochi.Client) (chan bool, func(bool)) {
	cc := connOf(cl.Net.Conn)
	if cc == nil {
		ch := make(chan bool, 1)
		return ch, func(ack bool) { ch <- ack }
	}
	if cc.acked == nil {
		ch := make(chan bool, 1)
		cc.acked, cc.confirm = ch, func(ack bool) { ch <- ack }
	}
	return cc.acked, cc.confirm
}

// flushHeld writes the acknowledgements held back on cl's connection
// (clientConn) before its read loop blocks.
func flushHeld(cl *mochi.Client) {
	if cc := connOf(cl.Net.Conn); cc != nil {
		cc.flushVia()  // and the packets for its subscribers (via.go)
		_ = cc.flush() // a broken connection fails its next read as well
	}
}

// refusePublish turns a core failure into the publish's answer: an error
// code mochi sends in the MQTT 5 PUBACK, or, for 3.1.1, a closed connection
// and no acknowledgement.
func (s *Server) refusePublish(cl *mochi.Client, pk packets.Packet, code packets.Code, err error) error {
	s.log.Warn("mqtt publish refused by the core", "client", cl.ID, "topic", pk.TopicName, "error", err)
	if cl.Properties.ProtocolVersion == 5 {
		return code
	}
	cl.Stop(err)
	return packets.ErrRejectPacket
}

// OnWillSent hands a will (sent now, or after its delay) to the core: wills
// do not pass through OnPublish.
func (h *faceHook) OnWillSent(cl *mochi.Client, pk packets.Packet) {
	vhost, _ := h.s.identity(cl)
	v, err := h.s.b.Vhost(vhost)
	if err == nil {
		_, err = v.Publish(toCore(h.s.cfg.Exchange, TopicToKey(userTopic(pk.TopicName)), pk), nil)
	}
	if err != nil {
		h.s.log.Warn("mqtt will to core failed", "client", cl.ID, "topic", pk.TopicName, "error", err)
	}
}
