package amqp

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/junctionmq/junction/core/queue"
)

// Channel and consumer snapshots for the management API (RabbitMQ's
// /api/channels and /api/consumers).
//
// Thread safety: a channel's basic.qos, confirm and tx fields belong to
// the connection's reader goroutine, so they are never read from here.
// What is read: the channels map, delivery and confirm state under
// conn.wmu; consumers through the core queues' subscriber lists (under
// each queue's lock, taken alone) and the stream hub's (under its lock),
// whose face-side fields (channel, tag, no-ack, limiters) are immutable
// once the consumer is registered; prefetch windows
// from the core limiters (their own lock). Confirm and tx mode and the
// basic.qos values are read from atomic copies the reader keeps
// (channel.shownMode, channel.shownQos).

// ChannelStats describes an open channel.
type ChannelStats struct {
	Conn           ConnStats // the connection it belongs to
	Number         uint16    // the channel number
	Name           string    // RabbitMQ's shape: "127.0.0.1:5555 -> 127.0.0.1:5672 (1)"
	Prefetch       uint32    // per-consumer window (basic.qos global=false); 0 = none
	GlobalPrefetch uint32    // the channel-wide window (basic.qos global=true); 0 = none
	Consumers      int       // basic.consume subscriptions on queues and stream queues
	Unacked        int       // deliveries awaiting ack
	Unconfirmed    int       // publishes awaiting their confirm
	Confirm        bool      // confirm.select
	Transactional  bool      // tx.select
	State          string    // "running", or "closing" once channel.close is sent
}

// ConsumerStats describes a basic.consume subscription on a queue.
type ConsumerStats struct {
	Channel     ChannelStats
	Tag         string
	Queue       string
	Vhost       string
	AckRequired bool   // not no-ack
	Exclusive   bool   // exclusive consume
	Prefetch    uint32 // its own window (basic.qos global=false); 0 = none
	Priority    int32  // x-priority
	Active      bool   // false while waiting behind a single active consumer
}

// channelName is RabbitMQ's channel name: the connection's and the number.
func channelName(conn string, n uint16) string {
	return conn + " (" + strconv.Itoa(int(n)) + ")"
}

// chanKey identifies a channel across connections.
type chanKey struct {
	c  *conn
	id uint16
}

// Channels returns the open channels of the open connections, by
// connection then channel number.
func (s *Server) Channels() []ChannelStats {
	cons := s.consumers()
	byChan := map[chanKey][]ConsumerStats{}
	for _, cs := range cons {
		k := chanKey{cs.c, cs.Channel.Number}
		byChan[k] = append(byChan[k], cs.ConsumerStats)
	}
	var out []ChannelStats
	for _, c := range s.openConns() {
		st, ok := c.stats()
		if !ok {
			continue
		}
		for _, ch := range c.channelStats(st) {
			for _, cs := range byChan[chanKey{c, ch.Number}] {
				ch.Consumers++
				ch.Prefetch = max(ch.Prefetch, cs.Prefetch)
				ch.GlobalPrefetch = max(ch.GlobalPrefetch, cs.Channel.GlobalPrefetch)
			}
			out = append(out, ch)
		}
	}
	return out
}

// Channel returns the open channel called name ("conn name (n)").
func (s *Server) Channel(name string) (ChannelStats, bool) {
	for _, ch := range s.Channels() {
		if ch.Name == name {
			return ch, true
		}
	}
	return ChannelStats{}, false
}

// openConns returns the server's connections, oldest first.
func (s *Server) openConns() []*conn {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	slices.SortFunc(conns, func(a, b *conn) int { return cmp.Compare(a.id, b.id) })
	return conns
}

// channelStats snapshots the connection's channels under wmu.
func (c *conn) channelStats(st ConnStats) []ChannelStats {
	c.wmu.Lock()
	out := make([]ChannelStats, 0, len(c.channels))
	for id, ch := range c.channels {
		unconfirmed := 0
		for _, p := range ch.confirms.pending {
			if p == 0 {
				unconfirmed++
			}
		}
		state := "running"
		if ch.closing.Load() {
			state = "closing"
		}
		mode, qos := ch.shownMode.Load(), ch.shownQos.Load()
		out = append(out, ChannelStats{Conn: st, Number: id, Name: channelName(st.Name, id),
			Prefetch: uint32(qos >> 32), GlobalPrefetch: uint32(qos),
			Unacked: len(ch.unacked), Unconfirmed: unconfirmed,
			Confirm: mode&shownConfirm != 0, Transactional: mode&shownTx != 0, State: state})
	}
	c.wmu.Unlock()
	slices.SortFunc(out, func(a, b ChannelStats) int { return cmp.Compare(a.Number, b.Number) })
	return out
}

// consumerOf is a consumer snapshot with the connection it came from.
type consumerOf struct {
	ConsumerStats
	c *conn
}

// Consumers returns the consumers of this server's connections on core
// queues and stream queues (direct reply-to consumers are not listed), by
// vhost, queue and tag.
func (s *Server) Consumers() []ConsumerStats {
	cons := s.consumers()
	out := make([]ConsumerStats, len(cons))
	for i, c := range cons {
		out[i] = c.ConsumerStats
	}
	return out
}

// consumers is Consumers with each consumer's connection.
func (s *Server) consumers() []consumerOf {
	cb, ok := s.broker.(*CoreBroker)
	if !ok {
		return nil
	}
	conns := map[*conn]ConnStats{}
	for _, c := range s.openConns() {
		if st, ok := c.stats(); ok {
			conns[c] = st
		}
	}
	var out []consumerOf
	for _, sc := range cb.streams.consumers() {
		if st, open := conns[sc.cs.ch.c]; open {
			out = append(out, consumerOf{c: sc.cs.ch.c, ConsumerStats: streamConsumerStats(st, sc)})
		}
	}
	for _, v := range cb.b.Vhosts() {
		for _, q := range v.Queues() {
			for _, sub := range q.Subscribers() {
				if cs, ok := faceConsumer(sub); ok {
					st, open := conns[cs.ch.c]
					if !open {
						continue
					}
					out = append(out, consumerOf{c: cs.ch.c, ConsumerStats: consumerStats(st, v.Name(), q.Name(), cs, sub)})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b consumerOf) int {
		return cmp.Or(cmp.Compare(a.Vhost, b.Vhost), cmp.Compare(a.Queue, b.Queue), cmp.Compare(a.Tag, b.Tag))
	})
	return out
}

// faceConsumer returns this face's consumer behind a core subscriber.
func faceConsumer(sub queue.SubscriberInfo) (*consumer, bool) {
	cc, ok := sub.Consumer.(*coreConsumer)
	if !ok {
		return nil, false
	}
	cs, ok := cc.c.(*consumer)
	return cs, ok
}

// consumerStats builds a consumer's snapshot. An acking consumer's
// limiters are its own window (when basic.qos global=false set one), then
// the channel's (consume.go).
func consumerStats(st ConnStats, vhost, q string, cs *consumer, sub queue.SubscriberInfo) ConsumerStats {
	ch := ChannelStats{Conn: st, Number: cs.ch.id, Name: channelName(st.Name, cs.ch.id), State: "running"}
	out := ConsumerStats{Tag: sub.Tag, Queue: q, Vhost: vhost, AckRequired: !sub.AutoAck, Exclusive: sub.Exclusive,
		Priority: sub.Priority, Active: sub.Active}
	switch n := len(sub.Limiters); {
	case n >= 2:
		out.Prefetch = uint32(sub.Limiters[0].Max())
		ch.GlobalPrefetch = uint32(sub.Limiters[n-1].Max())
	case n == 1:
		ch.GlobalPrefetch = uint32(sub.Limiters[0].Max())
	}
	out.Channel = ch
	return out
}

// streamSub is an AMQP consumer of a stream queue.
type streamSub struct {
	cs          *consumer
	vhost, name string
}

// consumers lists the AMQP consumers of every stream, under h.mu alone.
// A consumer's face-side fields were set before add published it.
func (h *streamHub) consumers() []streamSub {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []streamSub
	for _, p := range h.pumps {
		for _, sc := range p.cons {
			if cs, ok := sc.c.(*consumer); ok {
				out = append(out, streamSub{cs: cs, vhost: p.v.Name(), name: p.name})
			}
		}
	}
	return out
}

// streamConsumerStats builds a stream consumer's snapshot: its window is
// the consumer prefetch a stream consume requires (its first limiter).
func streamConsumerStats(st ConnStats, sc streamSub) ConsumerStats {
	cs := sc.cs
	out := ConsumerStats{Tag: cs.tag, Queue: sc.name, Vhost: sc.vhost, AckRequired: !cs.noAck, Active: true,
		Channel: ChannelStats{Conn: st, Number: cs.ch.id, Name: channelName(st.Name, cs.ch.id), State: "running"}}
	if len(cs.limiters) > 0 {
		if cl, ok := cs.limiters[0].(coreLimiter); ok {
			out.Prefetch = uint32(cl.l.Max())
		}
	}
	return out
}
