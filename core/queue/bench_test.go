package queue

import (
	"testing"

	"github.com/junctionmq/junction/core/message"
)

// lastSeq is a Consumer that remembers the last delivery's seq.
type lastSeq struct{ seq uint64 }

func (c *lastSeq) Deliver(d Delivery) { c.seq = d.Seq }

func benchQueue(b *testing.B, o ConsumeOptions) (*Queue, *lastSeq) {
	q := New(Config{Name: "bench", Args: mustArgs(b, nil)}, Deps{})
	c := &lastSeq{}
	if _, err := q.Consume(c, o); err != nil {
		b.Fatal(err)
	}
	return q, c
}

func benchMsg() *message.Message {
	return &message.Message{RoutingKey: "k", Body: make([]byte, 16)}
}

// BenchmarkPublishDeliverAck is the transient hot path: one 16-byte
// message published, pushed to a consumer with a prefetch window, acked.
func BenchmarkPublishDeliverAck(b *testing.B) {
	q, c := benchQueue(b, ConsumeOptions{Limiters: []*Limiter{NewLimiter(100), NewLimiter(0)}})
	m := benchMsg()
	b.ReportAllocs()
	for b.Loop() {
		q.Publish(Publishing{Msg: m})
		if err := q.Ack(c.seq); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishDeliverAutoAck is the hot path with no acks.
func BenchmarkPublishDeliverAutoAck(b *testing.B) {
	q, _ := benchQueue(b, ConsumeOptions{AutoAck: true})
	m := benchMsg()
	b.ReportAllocs()
	for b.Loop() {
		q.Publish(Publishing{Msg: m})
	}
}

// BenchmarkPublishGet fills a backlog of 1000 and drains it by Get.
func BenchmarkPublishGet(b *testing.B) {
	q := New(Config{Name: "bench", Args: mustArgs(b, nil)}, Deps{})
	m := benchMsg()
	b.ReportAllocs()
	for b.Loop() {
		for range 1000 {
			q.Publish(Publishing{Msg: m})
		}
		for range 1000 {
			d, _ := q.Get(false)
			_ = q.Ack(d.Seq)
		}
	}
}

// BenchmarkPublishDeliverAckTTL is the hot path with x-message-ttl set
// (the clock is read per publish).
func BenchmarkPublishDeliverAckTTL(b *testing.B) {
	q := New(Config{Name: "bench", Args: mustArgs(b, message.Table{{Key: "x-message-ttl", Value: int32(60000)}})}, Deps{})
	c := &lastSeq{}
	_, _ = q.Consume(c, ConsumeOptions{})
	m := benchMsg()
	b.ReportAllocs()
	for b.Loop() {
		q.Publish(Publishing{Msg: m})
		_ = q.Ack(c.seq)
	}
}

// BenchmarkAckFullWindow is a consumer at its prefetch window with a
// backlog behind it, as amqp091-go's acking consumer runs: each ack
// frees one slot and lets the next message out.
func BenchmarkAckFullWindow(b *testing.B) {
	q, c := benchQueue(b, ConsumeOptions{Limiters: []*Limiter{NewLimiter(100), NewLimiter(0)}})
	m := benchMsg()
	for range 200 {
		q.Publish(Publishing{Msg: m})
	}
	seq := c.seq - 99 // the oldest of the 100 in flight
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Ack(seq); err != nil {
			b.Fatal(err)
		}
		seq++
		q.Publish(Publishing{Msg: m})
	}
}
