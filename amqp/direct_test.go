package amqp_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// TestPublisherWritesDeliveries publishes, at a slow pace (and the last
// few in a burst), to a fanout exchange bound to two queues whose consumers (two
// raw connections) at first read nothing: the publisher's reader writes
// the deliveries of a slow flow to their sockets itself (deferWrite) until
// the sockets fill, and the writers take over. Each consumer gets every
// message whole and in order.
func TestPublisherWritesDeliveries(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, pub := ts.channel(t)
	require.NoError(t, pub.ExchangeDeclare("direct.fan", "fanout", false, false, false, false, nil))
	const n, size = 500, 16 << 10 // 8 MiB per consumer: more than loopback's socket buffers
	var consumers []*rawClient
	for i := range 2 {
		q := fmt.Sprintf("direct.q%d", i)
		_, err := pub.QueueDeclare(q, false, false, false, false, nil)
		require.NoError(t, err)
		require.NoError(t, pub.QueueBind(q, "", "direct.fan", false, nil))
		rc := dialRaw(t, ts.addr)
		rc.handshake(defaultTuneOk)
		rc.send(1, &amqp091.ChannelOpen{})
		_, m := rc.method()
		require.Equal(t, "channel.open-ok", m.Name())
		rc.send(1, &amqp091.BasicConsume{Queue: q, ConsumerTag: "c", NoAck: true})
		_, m = rc.method()
		require.Equal(t, "basic.consume-ok", m.Name())
		consumers = append(consumers, rc)
	}
	body := make([]byte, size)
	for i := range n {
		binary.BigEndian.PutUint32(body, uint32(i))
		require.NoError(t, pub.PublishWithContext(context.Background(), "direct.fan", "", false, false,
			rmq.Publishing{Body: body}))
		if i < n-20 {
			time.Sleep(time.Millisecond) // a slow flow: each delivery alone
		}
	}
	for ci, rc := range consumers {
		for i := range n {
			_, m := rc.method()
			dl, ok := m.(*amqp091.BasicDeliver)
			require.True(t, ok, "consumer %d: got %s, want basic.deliver", ci, m.Name())
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
			assert.Equal(t, uint32(i), binary.BigEndian.Uint32(got), "consumer %d, delivery %d", ci, i)
		}
	}
}

// TestPublisherConsumesOwnQueue publishes slowly on one connection to a
// queue it consumes on another channel of the same connection: the
// reader's own deliveries go out with its batch, in order.
func TestPublisherConsumesOwnQueue(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	conn, pub := ts.channel(t)
	_, err := pub.QueueDeclare("direct.self", false, false, false, false, nil)
	require.NoError(t, err)
	sub, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, sub.Qos(10, 0, false))
	ds, err := sub.Consume("direct.self", "", false, false, false, false, nil)
	require.NoError(t, err)
	const n = 200
	for i := range n {
		require.NoError(t, pub.PublishWithContext(context.Background(), "", "direct.self", false, false,
			rmq.Publishing{Body: []byte{byte(i)}}))
		if i%2 == 0 {
			time.Sleep(500 * time.Microsecond)
		}
	}
	for i := range n {
		d := recv(t, ds)
		require.Equal(t, []byte{byte(i)}, d.Body)
		require.NoError(t, d.Ack(false))
	}
}

// TestSmallAndLargeBodies publishes bodies around smallBody (whose
// message and body share one allocation), including one sent in two body
// frames, and gets each back whole.
func TestSmallAndLargeBodies(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("bodies", false, false, false, false, nil)
	require.NoError(t, err)
	ds, err := ch.Consume("bodies", "", true, false, false, false, nil)
	require.NoError(t, err)
	for _, n := range []int{0, 1, 63, 64, 65, 5000} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i*7 + n)
		}
		require.NoError(t, ch.PublishWithContext(context.Background(), "", "bodies", false, false, rmq.Publishing{Body: body}))
		d := recv(t, ds)
		require.Equal(t, body, d.Body, "%d bytes", n)
	}

	rc := dialRaw(t, ts.addr)
	rc.handshake(defaultTuneOk)
	rc.send(1, &amqp091.ChannelOpen{})
	_, m := rc.method()
	require.Equal(t, "channel.open-ok", m.Name())
	body := []byte("a small body sent in two body frames")
	var w amqp091.Writer
	require.NoError(t, w.WriteMethod(1, &amqp091.BasicPublish{RoutingKey: "bodies"}))
	hdr := make([]byte, 14)
	binary.BigEndian.PutUint16(hdr[0:], amqp091.ClassBasic)
	binary.BigEndian.PutUint64(hdr[4:], uint64(len(body)))
	raw := append([]byte(nil), w.Buf...)
	raw = appendFrame(raw, amqp091.FrameHeader, 1, hdr)
	raw = appendFrame(raw, amqp091.FrameBody, 1, body[:10])
	raw = appendFrame(raw, amqp091.FrameBody, 1, body[10:])
	rc.write(raw)
	d := recv(t, ds)
	require.Equal(t, body, d.Body)
}

// appendFrame appends one AMQP frame.
func appendFrame(b []byte, typ uint8, ch uint16, payload []byte) []byte {
	b = append(b, typ, byte(ch>>8), byte(ch))
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	return append(b, amqp091.FrameEnd)
}
