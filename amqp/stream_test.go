package amqp_test

import (
	"fmt"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"

	"github.com/junctionmq/junction/amqp"
)

// declareStream declares a stream queue and publishes n messages to it
// with confirms, so that they are durable (readable) on return.
func declareStream(t *testing.T, ch *rmq.Channel, name string, n int) {
	t.Helper()
	if _, err := ch.QueueDeclare(name, true, false, false, false, rmq.Table{
		"x-queue-type": "stream", "x-max-age": "7D", "x-max-length-bytes": int64(1 << 30),
	}); err != nil {
		t.Fatal(err)
	}
	publishStream(t, ch, name, 0, n)
}

// publishStream publishes bodies "m<from>".."m<to-1>" and waits for
// their confirms.
func publishStream(t *testing.T, ch *rmq.Channel, name string, from, to int) {
	t.Helper()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i := from; i < to; i++ {
		dc, err := ch.PublishWithDeferredConfirm("", name, false, false, rmq.Publishing{Body: fmt.Appendf(nil, "m%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if !dc.Wait() {
			t.Fatalf("publish %d nacked", i)
		}
	}
}

// consumeStream opens a channel with prefetch and consumes name from
// offset (nil: the default, next).
func consumeStream(t *testing.T, c *rmq.Connection, name string, prefetch int, offset any) (*rmq.Channel, <-chan rmq.Delivery) {
	t.Helper()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		t.Fatal(err)
	}
	args := rmq.Table{}
	if offset != nil {
		args["x-stream-offset"] = offset
	}
	ds, err := ch.Consume(name, "", false, false, false, false, args)
	if err != nil {
		t.Fatal(err)
	}
	return ch, ds
}

// wantOffset receives a delivery and checks its body and x-stream-offset.
func wantOffset(t *testing.T, ds <-chan rmq.Delivery, off int64) rmq.Delivery {
	t.Helper()
	d := recv(t, ds)
	got, ok := d.Headers["x-stream-offset"].(int64)
	if !ok || got != off || string(d.Body) != fmt.Sprintf("m%d", off) {
		t.Fatalf("got %q with x-stream-offset %#v, want m%d at %d", d.Body, d.Headers["x-stream-offset"], off, off)
	}
	return d
}

func TestStreamOffsets(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	c, ch := ts.channel(t)
	declareStream(t, ch, "s", 10)

	tests := []struct {
		name   string
		offset any
		first  int64
	}{
		{"first", "first", 0},
		{"default is next", nil, 10},
		{"next", "next", 10},
		{"last", "last", 9},
		{"integer", int64(4), 4},
		{"small integer type", int32(7), 7},
		{"offset past the end", int64(1000), 10},
		{"interval", "1h", 0},
		{"timestamp in the past", time.Now().Add(-time.Hour), 0},
		{"timestamp in the future", time.Now().Add(time.Hour), 10},
	}
	chans := make([]<-chan rmq.Delivery, len(tests))
	for i, tt := range tests {
		_, chans[i] = consumeStream(t, c, "s", 100, tt.offset)
	}
	publishStream(t, ch, "s", 10, 11)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for off := tt.first; off <= 10; off++ {
				d := wantOffset(t, chans[i], off)
				if err := d.Ack(false); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestStreamCreditAndAcks(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	c, ch := ts.channel(t)
	declareStream(t, ch, "s", 6)
	_, ds := consumeStream(t, c, "s", 2, "first")
	d0 := wantOffset(t, ds, 0)
	wantOffset(t, ds, 1)
	noRecv(t, ds, 100*time.Millisecond) // the window is full
	if err := d0.Ack(false); err != nil {
		t.Fatal(err)
	}
	d2 := wantOffset(t, ds, 2)
	if err := d2.Nack(true, true); err != nil { // offsets 1 and 2: credit only
		t.Fatal(err)
	}
	wantOffset(t, ds, 3)
	wantOffset(t, ds, 4)

	// Acks do not remove records: a second consumer reads them all.
	_, ds2 := consumeStream(t, c, "s", 10, "first")
	for off := int64(0); off < 6; off++ {
		wantOffset(t, ds2, off)
	}
	q, err := ch.QueueDeclarePassive("s", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.Messages != 6 || q.Consumers != 2 {
		t.Fatalf("passive declare: %d messages, %d consumers; want 6, 2", q.Messages, q.Consumers)
	}
}

func TestStreamErrors(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	declareStream(t, ch, "s", 1)
	if _, err := ch.QueueDeclare("classic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func(ch *rmq.Channel) error
		code int
		text string
	}{
		{"consume without prefetch", func(ch *rmq.Channel) error {
			_, err := ch.Consume("s", "", false, false, false, false, nil)
			return err
		}, 406, "PRECONDITION_FAILED - consumer prefetch count is not set for stream queue 's' in vhost '/'"},
		{"autoack", func(ch *rmq.Channel) error {
			if err := ch.Qos(10, 0, false); err != nil {
				return err
			}
			_, err := ch.Consume("s", "", true, false, false, false, nil)
			return err
		}, 540, "NOT_IMPLEMENTED - automatic acknowledgement not supported by stream queue 's' in vhost '/'"},
		{"global qos", func(ch *rmq.Channel) error {
			if err := ch.Qos(10, 0, false); err != nil {
				return err
			}
			if err := ch.Qos(10, 0, true); err != nil {
				return err
			}
			_, err := ch.Consume("s", "", false, false, false, false, nil)
			return err
		}, 540, "NOT_IMPLEMENTED - queue 's' in vhost '/' does not support global qos"},
		{"invalid offset", func(ch *rmq.Channel) error {
			if err := ch.Qos(10, 0, false); err != nil {
				return err
			}
			_, err := ch.Consume("s", "", false, false, false, false, rmq.Table{"x-stream-offset": "soon"})
			return err
		}, 406, "PRECONDITION_FAILED - invalid x-stream-offset soon for queue 's' in vhost '/'"},
		{"basic.get", func(ch *rmq.Channel) error {
			_, _, err := ch.Get("s", false)
			return err
		}, 540, "NOT_IMPLEMENTED - basic.get not supported by stream queues queue 's' in vhost '/'"},
		{"classic redeclared as stream", func(ch *rmq.Channel) error {
			_, err := ch.QueueDeclare("classic", true, false, false, false, rmq.Table{"x-queue-type": "stream"})
			return err
		}, 406, "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'classic' in vhost '/': received 'stream' but current is 'classic'"},
		{"stream redeclared as classic", func(ch *rmq.Channel) error {
			_, err := ch.QueueDeclare("s", true, false, false, false, rmq.Table{"x-queue-type": "classic"})
			return err
		}, 406, "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 's' in vhost '/': received 'classic' but current is 'stream'"},
		{"bad x-max-age", func(ch *rmq.Channel) error {
			_, err := ch.QueueDeclare("s2", true, false, false, false, rmq.Table{"x-queue-type": "stream", "x-max-age": "3w"})
			return err
		}, 406, "PRECONDITION_FAILED - invalid arg 'x-max-age' for queue 's2' in vhost '/': {invalid_max_age,3w}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dial(t)
			ch, err := c.Channel()
			if err != nil {
				t.Fatal(err)
			}
			wantErr(t, tt.run(ch), tt.code, tt.text)
		})
	}
}

func TestStreamDeleteCancelsConsumers(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	c, ch := ts.channel(t)
	declareStream(t, ch, "s", 1)
	cch, ds := consumeStream(t, c, "s", 10, "first")
	cancels := cch.NotifyCancel(make(chan string, 1))
	wantOffset(t, ds, 0)
	if _, err := ch.QueueDelete("s", false, false, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancels:
	case <-time.After(5 * time.Second):
		t.Fatal("no basic.cancel after the stream was deleted")
	}
}

func TestStreamConsumersAcrossConnections(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	declareStream(t, ch, "s", 0)
	var chans []<-chan rmq.Delivery
	var subs []*rmq.Channel
	for range 3 {
		sch, ds := consumeStream(t, ts.dial(t), "s", 1, "next")
		chans = append(chans, ds)
		subs = append(subs, sch)
	}
	publishStream(t, ch, "s", 0, 20)
	for i, ds := range chans {
		for off := int64(0); off < 20; off++ {
			if err := wantOffset(t, ds, off).Ack(false); err != nil {
				t.Fatalf("consumer %d: %v", i, err)
			}
		}
	}
	for _, sch := range subs { // cancelling stops the stream's pump
		if err := sch.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
