package amqp091_test

import (
	"bytes"
	"testing"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// loop is an io.Reader replaying the same bytes forever.
type loop struct {
	data []byte
	off  int
}

func (l *loop) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.off:])
		n += c
		l.off = (l.off + c) % len(l.data)
	}
	return n, nil
}

var benchProps = message.Properties{
	Flags:        message.FlagContentType | message.FlagDeliveryMode | message.FlagMessageID,
	ContentType:  "application/json",
	DeliveryMode: 2,
	MessageID:    "msg-1",
}

// publishFrames is basic.publish, its content header and a 128-byte body.
func publishFrames(tb testing.TB) []byte {
	var w amqp091.Writer
	err := w.WriteContent(1, &amqp091.BasicPublish{Exchange: "amq.topic", RoutingKey: "orders.eu.created"},
		&benchProps, bytes.Repeat([]byte("x"), 128))
	if err != nil {
		tb.Fatal(err)
	}
	return w.Buf
}

// BenchmarkDecodePublish reads and decodes basic.publish + header + body
// through a Reader and a Decoder, as a connection's reader goroutine does.
func BenchmarkDecodePublish(b *testing.B) {
	data := publishFrames(b)
	r := amqp091.NewReader(&loop{data: data}, 131072)
	var d amqp091.Decoder
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := r.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		m, err := d.DecodeMethod(f.Payload)
		if err != nil {
			b.Fatal(err)
		}
		if m.(*amqp091.BasicPublish).RoutingKey == "" {
			b.Fatal("no routing key")
		}
		if f, err = r.ReadFrame(); err != nil {
			b.Fatal(err)
		}
		if _, err := d.DecodeHeader(f.Payload); err != nil {
			b.Fatal(err)
		}
		if f, err = r.ReadFrame(); err != nil || len(f.Payload) != 128 {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeDeliver encodes basic.deliver + header + body into a
// reused Writer, as a connection's writer does.
func BenchmarkEncodeDeliver(b *testing.B) {
	w := amqp091.Writer{FrameMax: 131072}
	d := &amqp091.BasicDeliver{ConsumerTag: "amq.ctag-1", Exchange: "amq.topic", RoutingKey: "orders.eu.created"}
	body := bytes.Repeat([]byte("x"), 128)
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		d.DeliveryTag++
		if err := w.WriteContent(1, d, &benchProps, body); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(w.Len()))
}

// BenchmarkDecodeAck decodes basic.ack through a Decoder.
func BenchmarkDecodeAck(b *testing.B) {
	var w amqp091.Writer
	(&amqp091.BasicAck{DeliveryTag: 7, Multiple: true}).Write(&w)
	var d amqp091.Decoder
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.DecodeMethod(w.Buf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHotPathAllocs pins the hot paths at zero allocations per message.
func TestHotPathAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	data := publishFrames(t)
	r := amqp091.NewReader(&loop{data: data}, 131072)
	var d amqp091.Decoder
	decode := func() {
		for range 3 {
			f, err := r.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			switch f.Type {
			case amqp091.FrameMethod:
				_, err = d.DecodeMethod(f.Payload)
			case amqp091.FrameHeader:
				_, err = d.DecodeHeader(f.Payload)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := testing.AllocsPerRun(100, decode); n != 0 {
		t.Errorf("decode publish: %v allocs per message", n)
	}
	w := amqp091.Writer{FrameMax: 131072}
	deliver := &amqp091.BasicDeliver{ConsumerTag: "c", Exchange: "x", RoutingKey: "k"}
	encode := func() {
		w.Reset()
		_ = w.WriteContent(1, deliver, &benchProps, data)
	}
	if n := testing.AllocsPerRun(100, encode); n != 0 {
		t.Errorf("encode deliver: %v allocs per message", n)
	}
}
