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

// TestOwnOutputWhileClientDoesNotRead: a client that publishes to a queue
// it consumes itself, without reading, makes the reader's own writes
// meet a full socket; what did not fit goes out first when the client
// reads again, so every delivery arrives whole and in order.
func TestOwnOutputWhileClientDoesNotRead(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	rc := dialRaw(t, ts.addr)
	rc.handshake(defaultTuneOk)
	rc.send(1, &amqp091.ChannelOpen{})
	_, m := rc.method()
	require.Equal(t, "channel.open-ok", m.Name())
	rc.send(1, &amqp091.QueueDeclare{Queue: "self"})
	_, m = rc.method()
	require.Equal(t, "queue.declare-ok", m.Name())
	rc.send(1, &amqp091.BasicConsume{Queue: "self", ConsumerTag: "c", NoAck: true})
	_, m = rc.method()
	require.Equal(t, "basic.consume-ok", m.Name())

	const n, size = 400, 16 << 10 // 6.4 MiB: more than loopback's socket buffers
	body := make([]byte, size)
	done := make(chan error, 1)
	go func() {
		var w amqp091.Writer
		for i := range n {
			binary.BigEndian.PutUint32(body, uint32(i))
			w.Reset()
			if err := w.WriteContent(1, &amqp091.BasicPublish{RoutingKey: "self"}, &message.Properties{}, body); err != nil {
				done <- err
				return
			}
			if _, err := rc.nc.Write(w.Buf); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	time.Sleep(200 * time.Millisecond) // let the server's writes fill the socket
	for i := range n {
		_, m := rc.method()
		dl, ok := m.(*amqp091.BasicDeliver)
		require.True(t, ok, "got %s, want basic.deliver", m.Name())
		require.Equal(t, uint64(i+1), dl.DeliveryTag)
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
		require.Len(t, got, size)
		assert.Equal(t, uint32(i), binary.BigEndian.Uint32(got), "delivery %d", i+1)
	}
	require.NoError(t, <-done)
}
