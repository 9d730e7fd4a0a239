package amqp_test

import (
	"encoding/binary"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// TestAckOneTagInAndOutOfOrder acknowledges one tag at a time, mostly the
// oldest (taken off the front of the unacked deliveries) and now and then
// a younger one first, with nacks that requeue: every message arrives,
// none is settled twice, and the queue ends empty.
func TestAckOneTagInAndOutOfOrder(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, pub := ts.channel(t)
	_, sub := ts.channel(t)
	_, err := pub.QueueDeclare("settle", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, sub.Qos(20, 0, false))
	ds, err := sub.Consume("settle", "", false, false, false, false, nil)
	require.NoError(t, err)

	const n = 3000
	go func() {
		for i := range n {
			body := binary.BigEndian.AppendUint32(nil, uint32(i))
			_ = pub.Publish("", "settle", false, false, rmq.Publishing{Body: body})
		}
	}()
	acked := map[uint32]bool{}
	var held []rmq.Delivery
	for len(acked) < n {
		d := recv(t, ds)
		id := binary.BigEndian.Uint32(d.Body)
		require.False(t, acked[id], "message %d delivered after its ack", id)
		switch {
		case id%97 == 5 && !d.Redelivered:
			require.NoError(t, d.Nack(false, true)) // comes back redelivered
		case id%7 == 3 && len(held) < 5:
			held = append(held, d) // acked later, after younger ones
		default:
			require.NoError(t, d.Ack(false))
			acked[id] = true
		}
		if len(held) == 5 || (len(held) > 0 && (id%11 == 0 || len(acked)+len(held) == n)) {
			for i := len(held) - 1; i >= 0; i-- {
				require.NoError(t, held[i].Ack(false))
				acked[binary.BigEndian.Uint32(held[i].Body)] = true
			}
			held = held[:0]
		}
	}
	waitFor(t, func() bool {
		ready, unacked := ts.depth(t, "settle")
		return ready == 0 && unacked == 0
	})
}

// TestAckUnknownTagAfterOneTagAcks: after one-tag acks, acknowledging a
// tag again is the protocol's 406, as before.
func TestAckUnknownTagAfterOneTagAcks(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("twice", false, false, false, false, nil)
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, ch.Publish("", "twice", false, false, rmq.Publishing{Body: []byte("x")}))
	}
	closed := ch.NotifyClose(make(chan *rmq.Error, 1))
	ds, err := ch.Consume("twice", "", false, false, false, false, nil)
	require.NoError(t, err)
	d1, d2 := recv(t, ds), recv(t, ds)
	require.NoError(t, d2.Ack(false))
	require.NoError(t, d1.Ack(false))
	require.NoError(t, d1.Ack(false))
	wantErr(t, closeErr(t, closed), 406, "PRECONDITION_FAILED - unknown delivery tag 1")
}

// TestOwnOutputWhileClientDoesNotRead: a client that requeues a large
// message over and over without reading makes the deliveries its nacks
// let out, which the reader writes itself (endBatch), meet a full socket;
// what did not fit goes out first when the client reads again, so every
// delivery arrives whole and in tag order.
func TestOwnOutputWhileClientDoesNotRead(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	rc := dialRaw(t, ts.addr)
	rc.handshake(defaultTuneOk)
	expect := func(name string) {
		t.Helper()
		_, m := rc.method()
		require.Equal(t, name, m.Name())
	}
	rc.send(1, &amqp091.ChannelOpen{})
	expect("channel.open-ok")
	rc.send(1, &amqp091.QueueDeclare{Queue: "self"})
	expect("queue.declare-ok")
	const n, size = 400, 16 << 10 // 6.4 MiB: more than loopback's socket buffers
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i)
	}
	var w amqp091.Writer
	require.NoError(t, w.WriteContent(1, &amqp091.BasicPublish{RoutingKey: "self"}, &message.Properties{}, body))
	rc.write(w.Buf)
	rc.send(1, &amqp091.BasicQos{PrefetchCount: 1})
	expect("basic.qos-ok")
	rc.send(1, &amqp091.BasicConsume{Queue: "self", ConsumerTag: "c"})
	expect("basic.consume-ok")

	// Each nack requeues the one message, delivered again at once with
	// the next tag: the client can name the tags without reading.
	done := make(chan error, 1)
	go func() {
		var w amqp091.Writer
		for tag := uint64(1); tag <= n; tag++ {
			w.Reset()
			if err := w.WriteMethod(1, &amqp091.BasicNack{DeliveryTag: tag, Requeue: true}); err != nil {
				done <- err
				return
			}
			if _, err := rc.nc.Write(w.Buf); err != nil {
				done <- err
				return
			}
			// One nack per read, as amqp091-go acks: the server's reader
			// writes each redelivery itself. (Only shapes the load: the
			// test holds whatever the pace.)
			time.Sleep(100 * time.Microsecond)
		}
		done <- nil
	}()
	time.Sleep(300 * time.Millisecond) // let the server's writes fill the socket
	for tag := uint64(1); tag <= n+1; tag++ {
		_, m := rc.method()
		dl, ok := m.(*amqp091.BasicDeliver)
		require.True(t, ok, "got %s, want basic.deliver", m.Name())
		require.Equal(t, tag, dl.DeliveryTag)
		require.Equal(t, tag > 1, dl.Redelivered)
		f, err := rc.frame()
		require.NoError(t, err)
		require.Equal(t, uint8(amqp091.FrameHeader), f.Type)
		got := make([]byte, 0, size)
		for len(got) < size {
			f, err := rc.frame()
			require.NoError(t, err)
			require.Equal(t, uint8(amqp091.FrameBody), f.Type)
			got = append(got, f.Payload...)
		}
		assert.Equal(t, body, got, "delivery %d", tag)
	}
	require.NoError(t, <-done)
}
