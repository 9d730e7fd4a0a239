package amqp

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/stream"
)

// Stream queues (x-queue-type: stream) are core streams: records stay
// after an ack, and each consumer reads from its own position with a
// credit of prefetch unacked deliveries, as RabbitMQ's stream queues.
//
// # Goroutines
//
// A streamHub runs one pump goroutine per stream that has AMQP consumers,
// shared by every consumer of that stream on every connection; none per
// consumer or per connection. The pump waits on stream.Stream.Notify
// (a record became durable, a trim, a close) and on pokes (an ack gave a
// consumer credit, a consumer started), then reads each consumer's next
// records and hands them to its Consumer.Deliver, which only appends to
// the connection's outbound buffer. One goroutine per stream is needed
// because a Notify channel must be waited on by someone: the connection's
// writer cannot select over a changing set of streams, and its reader
// blocks in a socket read. The pump exits when its last consumer is
// cancelled (Cancel waits for it) or when the stream is deleted.
//
// # Locks
//
//	streamHub.mu: guards the pumps and their consumer lists; a leaf.
//	streamConsumer.mu → conn.wmu: held while delivering, so that after
//	Cancel returns nothing more is delivered. Never held across a store
//	read.

// streamBatch bounds the records read for one consumer in one pass.
const streamBatch = 256

// streamHub owns the pumps of the streams that have consumers.
type streamHub struct {
	log   *slog.Logger
	mu    sync.Mutex // guards pumps and every pump's cons
	pumps map[*stream.Stream]*streamPump
}

func newStreamHub(log *slog.Logger) *streamHub {
	return &streamHub{log: log, pumps: map[*stream.Stream]*streamPump{}}
}

// streamPump delivers one stream's records to its consumers.
type streamPump struct {
	hub  *streamHub
	s    *stream.Stream
	v    *core.Vhost
	name string
	cons []*streamConsumer // guarded by hub.mu
	poke chan struct{}     // an ack or a new consumer: pump again
	stop chan struct{}     // closed when the last consumer left
	done chan struct{}     // closed when run returns
}

// streamConsumer is one basic.consume on a stream queue. It is also the
// Queue its deliveries settle through and its Subscription.
type streamConsumer struct {
	pump   *streamPump
	c      Consumer
	credit atomic.Int64 // prefetch minus unacked deliveries
	pos    uint64       // the next offset to read; pump goroutine only once added

	mu        sync.Mutex // guards cancelled; held while delivering
	cancelled bool
}

// count returns the number of consumers of s.
func (h *streamHub) count(s *stream.Stream) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.pumps[s]; p != nil {
		return len(p.cons)
	}
	return 0
}

// add attaches sc to the pump of its stream, starting one if needed.
func (h *streamHub) add(v *core.Vhost, name string, s *stream.Stream, sc *streamConsumer) {
	h.mu.Lock()
	p := h.pumps[s]
	if p == nil {
		p = &streamPump{hub: h, s: s, v: v, name: name, poke: make(chan struct{}, 1),
			stop: make(chan struct{}), done: make(chan struct{})}
		h.pumps[s] = p
		go p.run()
	}
	sc.pump = p
	p.cons = append(p.cons, sc)
	h.mu.Unlock()
	p.wake()
}

// wake pokes the pump. Never blocks.
func (p *streamPump) wake() {
	select {
	case p.poke <- struct{}{}:
	default:
	}
}

// run is the pump goroutine.
func (p *streamPump) run() {
	defer close(p.done)
	var list []*streamConsumer
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		notify := p.s.Notify()
		if p.deleted() {
			p.cancelAll()
			return
		}
		p.hub.mu.Lock()
		list = append(list[:0], p.cons...)
		p.hub.mu.Unlock()
		more := false
		for _, sc := range list {
			if sc.deliverNext() {
				more = true
			}
		}
		if more {
			continue
		}
		select {
		case <-notify:
		case <-p.poke:
		case <-p.stop:
			return
		}
	}
}

// deleted reports whether the stream was deleted (or the broker closed).
func (p *streamPump) deleted() bool {
	s, err := p.v.Stream(p.name)
	return err != nil || s != p.s
}

// cancelAll ends every consumer of a deleted stream: the face sends
// basic.cancel, as for a deleted queue.
func (p *streamPump) cancelAll() {
	p.hub.mu.Lock()
	if p.hub.pumps[p.s] == p {
		delete(p.hub.pumps, p.s)
	}
	cons := p.cons
	p.cons = nil
	p.hub.mu.Unlock()
	for _, sc := range cons {
		sc.mu.Lock()
		if !sc.cancelled {
			sc.cancelled = true
			sc.c.Cancelled()
		}
		sc.mu.Unlock()
	}
}

// deliverNext reads the consumer's next records, as many as its credit
// allows, and delivers them. It reports whether more may be waiting.
func (sc *streamConsumer) deliverNext() bool {
	credit := sc.credit.Load()
	if credit <= 0 {
		return false
	}
	p := sc.pump
	n := int(min(credit, streamBatch))
	recs, next, err := p.s.Read(sc.pos, n, 0)
	if err != nil {
		p.hub.log.Warn("stream read failed", "stream", p.name, "offset", sc.pos, "err", err)
		return false
	}
	sc.pos = next
	if len(recs) == 0 {
		return false
	}
	ds := make([]Delivery, 0, len(recs))
	for _, r := range recs {
		if m := streamMessage(r); m != nil {
			ds = append(ds, Delivery{Queue: sc, Seq: r.Offset, Msg: m, DeliveryCount: 1})
		}
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.cancelled {
		return false
	}
	sc.credit.Add(-int64(len(ds)))
	for _, d := range ds {
		sc.c.Deliver(d)
	}
	return len(recs) == n && sc.credit.Load() > 0
}

// streamMessage decodes a record into the message a consumer is given,
// with the x-stream-offset header (a long) RabbitMQ adds. Records that
// are not messages (or do not decode) are skipped.
func streamMessage(r stream.Record) *message.Message {
	if r.Kind != stream.KindMessage {
		return nil
	}
	m, err := message.Unmarshal(r.Data)
	if err != nil {
		return nil
	}
	m.Props.Headers = append(m.Props.Headers[:len(m.Props.Headers):len(m.Props.Headers)],
		message.Field{Key: "x-stream-offset", Value: int64(r.Offset)})
	m.Props.Flags |= message.FlagHeaders
	return m
}

// Name implements Queue.
func (sc *streamConsumer) Name() string { return sc.pump.name }

// Ack implements Queue: records stay in the stream; an ack only gives
// the consumer credit back.
func (sc *streamConsumer) Ack(seqs []uint64) { sc.release(len(seqs)) }

// Nack implements Queue. Stream records cannot be requeued or dropped
// (RabbitMQ ignores both for stream queues); the credit comes back.
func (sc *streamConsumer) Nack(seqs []uint64, _ bool) { sc.release(len(seqs)) }

func (sc *streamConsumer) release(n int) {
	sc.credit.Add(int64(n))
	sc.pump.wake()
}

// Cancel implements Subscription: nothing is delivered once it returns.
// The last consumer of a stream stops its pump and waits for it.
func (sc *streamConsumer) Cancel() {
	sc.mu.Lock()
	sc.cancelled = true
	sc.mu.Unlock()
	p := sc.pump
	h := p.hub
	h.mu.Lock()
	for i, c := range p.cons {
		if c == sc {
			p.cons = append(p.cons[:i], p.cons[i+1:]...)
			break
		}
	}
	last := len(p.cons) == 0 && h.pumps[p.s] == p
	if last {
		delete(h.pumps, p.s)
		close(p.stop)
	}
	h.mu.Unlock()
	if last {
		<-p.done
	}
}

// startFor turns an x-stream-offset consumer argument into a start
// position, as RabbitMQ's rabbit_stream_queue:parse_offset_arg: "first",
// "last", "next" (the default), an integer offset, a timestamp (AMQP
// 'T', seconds) or an interval string ("1h", "30m", "7D": now minus it).
func startFor(args message.Table, now time.Time) (stream.Start, bool) {
	v, ok := args.Get("x-stream-offset")
	if !ok {
		return stream.Start{Kind: stream.StartNext}, true
	}
	switch x := v.(type) {
	case string:
		switch x {
		case "first":
			return stream.Start{Kind: stream.StartFirst}, true
		case "last":
			return stream.Start{Kind: stream.StartLast}, true
		case "next":
			return stream.Start{Kind: stream.StartNext}, true
		}
		d, ok := parseAge(x)
		if !ok {
			return stream.Start{}, false
		}
		return stream.Start{Kind: stream.StartTime, Time: now.Add(-d)}, true
	case time.Time:
		return stream.Start{Kind: stream.StartTime, Time: x}, true
	}
	if n, ok := message.Int(v); ok && n >= 0 {
		return stream.Start{Kind: stream.StartOffset, Offset: uint64(n)}, true
	}
	return stream.Start{}, false
}

// parseAge parses RabbitMQ's max-age syntax (rabbit_amqqueue:check_max_age):
// a positive integer and one unit of Y (365 days), M (30 days), D, h, m, s.
func parseAge(s string) (time.Duration, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 12 || i != len(s)-1 {
		return 0, false
	}
	var n int64
	for _, c := range s[:i] {
		n = n*10 + int64(c-'0')
	}
	if n <= 0 {
		return 0, false
	}
	day := 24 * time.Hour
	units := map[byte]time.Duration{'Y': 365 * day, 'M': 30 * day, 'D': day, 'h': time.Hour, 'm': time.Minute, 's': time.Second}
	u, ok := units[s[i]]
	if !ok {
		return 0, false
	}
	return time.Duration(n) * u, true
}
