package amqp_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// flowMessages is how many messages of flowBody bytes the flow tests
// publish to a consumer that reads nothing: 33 MB of frames, far more
// than the broker's bound and loopback's socket buffers (the sender's
// grows to 4 MiB) take.
const (
	flowMessages = 100_000
	flowBody     = 256
)

// rawConsumer opens a raw connection with an auto-ack (or manual-ack)
// consumer on each queue (channel i+1 for queues[i]), and reads nothing
// more.
func rawConsumer(t *testing.T, addr string, noAck bool, queues ...string) *rawClient {
	t.Helper()
	rc := dialRawSmall(t, addr)
	rc.handshake(defaultTuneOk)
	for i, q := range queues {
		ch := uint16(i + 1)
		rc.send(ch, &amqp091.ChannelOpen{})
		_, m := rc.method()
		require.Equal(t, "channel.open-ok", m.Name())
		rc.send(ch, &amqp091.BasicConsume{Queue: q, ConsumerTag: q, NoAck: noAck})
		_, m = rc.method()
		require.Equal(t, "basic.consume-ok", m.Name())
	}
	return rc
}

// dialRawSmall is dialRaw with a small socket receive buffer, so that
// what a client that reads nothing was sent stays mostly in the broker.
func dialRawSmall(t *testing.T, addr string) *rawClient {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
		return errors.Join(err, serr)
	}}
	nc, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, r: amqp091.NewReader(nc, 0)}
}

// publishSeq publishes n messages numbered from first to q.
func publishSeq(t *testing.T, ch *rmq.Channel, q string, first, n int) {
	t.Helper()
	body := make([]byte, flowBody)
	for i := first; i < first+n; i++ {
		binary.BigEndian.PutUint32(body, uint32(i))
		require.NoError(t, ch.PublishWithContext(context.Background(), "", q, false, false, rmq.Publishing{Body: body}))
	}
}

// readDelivery reads one delivery (method, header, body) and returns its
// channel, tag and the number in its body.
func (rc *rawClient) readDelivery() (ch uint16, tag uint64, num uint32) {
	rc.t.Helper()
	ch, m := rc.method()
	dl, ok := m.(*amqp091.BasicDeliver)
	require.True(rc.t, ok, "got %s, want basic.deliver", m.Name())
	f, err := rc.frame()
	require.NoError(rc.t, err)
	require.Equal(rc.t, uint8(amqp091.FrameHeader), f.Type)
	f, err = rc.frame()
	require.NoError(rc.t, err)
	require.Equal(rc.t, uint8(amqp091.FrameBody), f.Type)
	require.Len(rc.t, f.Payload, flowBody)
	return ch, dl.DeliveryTag, binary.BigEndian.Uint32(f.Payload)
}

// TestAutoAckFlowControl publishes 100,000 messages to a queue whose one
// auto-ack consumer reads nothing: the consumer is held once the
// connection's pending output passes the bound, so most messages stay
// ready in the queue and the broker buffers no more than the bound; when
// the client reads, it receives every message once, in order.
func TestAutoAckFlowControl(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, pub := ts.channel(t)
	_, err := pub.QueueDeclare("flow.q", false, false, false, false, nil)
	require.NoError(t, err)
	rc := rawConsumer(t, ts.addr, true, "flow.q")

	publishSeq(t, pub, "flow.q", 0, flowMessages)
	waitFor(t, func() bool { ready, _ := ts.depth(t, "flow.q"); return ready > 0 })
	require.Eventually(t, func() bool { return amqp.FlowHeld(ts.srv) }, 10*time.Second, 5*time.Millisecond)
	// The publisher's channel is synchronous enough: a passive declare
	// after the publishes sees them all routed.
	dq, err := pub.QueueDeclarePassive("flow.q", false, false, false, false, nil)
	require.NoError(t, err)
	assert.Greater(t, dq.Messages, flowMessages/2, "most messages stay ready while the consumer reads nothing")
	const slack = 1 << 10 // one delivery, frames included
	assert.LessOrEqual(t, amqp.OutPeak(ts.srv), amqp.FlowHigh+slack, "pending output stays under the bound")
	t.Logf("ready %d of %d while held; peak pending output %d B", dq.Messages, flowMessages, amqp.OutPeak(ts.srv))

	for i := range flowMessages {
		ch, tag, num := rc.readDelivery()
		require.Equal(t, uint16(1), ch)
		require.Equal(t, uint64(i+1), tag)
		require.Equal(t, uint32(i), num, "delivery %d out of order", i)
	}
	ready, unacked := ts.depth(t, "flow.q")
	assert.Zero(t, ready)
	assert.Zero(t, unacked)
	assert.LessOrEqual(t, amqp.OutPeak(ts.srv), amqp.FlowHigh+slack)
	// Nothing more: a message published now is the next delivery.
	publishSeq(t, pub, "flow.q", flowMessages, 1)
	_, tag, num := rc.readDelivery()
	assert.Equal(t, uint64(flowMessages+1), tag)
	assert.Equal(t, uint32(flowMessages), num)
}

// TestAutoAckFlowOtherConsumer: while one auto-ack consumer of a queue
// is held (it reads nothing), a second one on another connection goes on
// receiving, and the queue drains through it; then the first reads what
// it was sent. Every message arrives exactly once, each consumer's in
// order.
func TestAutoAckFlowOtherConsumer(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, pub := ts.channel(t)
	_, err := pub.QueueDeclare("flow.two", false, false, false, false, nil)
	require.NoError(t, err)
	slow := rawConsumer(t, ts.addr, true, "flow.two")
	_, fast := ts.channel(t)
	ds, err := fast.Consume("flow.two", "fast", true, false, false, false, nil)
	require.NoError(t, err)
	var fastGot []int
	fastDone := make(chan struct{})
	go func() {
		defer close(fastDone)
		for d := range ds {
			fastGot = append(fastGot, int(binary.BigEndian.Uint32(d.Body)))
		}
	}()

	publishSeq(t, pub, "flow.two", 0, flowMessages)
	// The queue drains through the fast consumer while the slow one
	// reads nothing and is held.
	require.Eventually(t, func() bool { ready, _ := ts.depth(t, "flow.two"); return ready == 0 },
		60*time.Second, 10*time.Millisecond)
	// Cancelling the fast consumer closes ds after its last delivery; a
	// last message then goes to the slow one, after all it was sent.
	require.NoError(t, fast.Cancel("fast", false))
	<-fastDone
	publishSeq(t, pub, "flow.two", flowMessages, 1)

	seen := make([]int, flowMessages+1)
	last := -1
	for _, num := range fastGot {
		require.Greater(t, num, last, "fast consumer: out of order")
		last = num
		seen[num]++
	}
	last = -1
	slowN := 0
	for last != flowMessages {
		_, tag, num := slow.readDelivery()
		slowN++
		require.Equal(t, uint64(slowN), tag)
		require.Greater(t, int(num), last, "slow consumer: out of order")
		last = int(num)
		seen[num]++
	}
	for i, n := range seen {
		require.Equal(t, 1, n, "message %d delivered %d times", i, n)
	}
	assert.Greater(t, len(fastGot), flowMessages/2, "the fast consumer took most while the slow one was held")
	assert.Less(t, slowN, flowMessages/2)
	t.Logf("fast %d, slow %d (the last message included)", len(fastGot), slowN)
}

// TestAutoAckFlowManualAckUnaffected: on a connection that reads nothing
// and whose auto-ack consumer is held, a manual-ack consumer without a
// prefetch limit is still sent its queue's messages (they wait as
// unacked, as before); afterwards the client reads all of both, in order.
func TestAutoAckFlowManualAckUnaffected(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, pub := ts.channel(t)
	for _, q := range []string{"flow.auto", "flow.manual"} {
		_, err := pub.QueueDeclare(q, false, false, false, false, nil)
		require.NoError(t, err)
	}
	rc := dialRawSmall(t, ts.addr)
	rc.handshake(defaultTuneOk)
	for ch, c := range []struct {
		q     string
		noAck bool
	}{{"flow.auto", true}, {"flow.manual", false}} {
		rc.send(uint16(ch+1), &amqp091.ChannelOpen{})
		_, m := rc.method()
		require.Equal(t, "channel.open-ok", m.Name())
		rc.send(uint16(ch+1), &amqp091.BasicConsume{Queue: c.q, ConsumerTag: c.q, NoAck: c.noAck})
		_, m = rc.method()
		require.Equal(t, "basic.consume-ok", m.Name())
	}
	publishSeq(t, pub, "flow.auto", 0, flowMessages)
	require.Eventually(t, func() bool { return amqp.FlowHeld(ts.srv) }, 10*time.Second, 5*time.Millisecond)
	const manual = 5000
	publishSeq(t, pub, "flow.manual", 0, manual)
	require.Eventually(t, func() bool {
		ready, unacked := ts.depth(t, "flow.manual")
		return ready == 0 && unacked == manual
	}, 30*time.Second, 5*time.Millisecond, "the manual-ack consumer is sent every message")
	ready, _ := ts.depth(t, "flow.auto")
	assert.Greater(t, ready, flowMessages/2, "the auto-ack consumer stays held")

	next := map[uint16]int{1: 0, 2: 0}
	for next[1] < flowMessages || next[2] < manual {
		ch, tag, num := rc.readDelivery()
		require.Equal(t, uint64(next[ch]+1), tag, "channel %d", ch)
		require.Equal(t, uint32(next[ch]), num, "channel %d out of order", ch)
		next[ch]++
	}
	_, unacked := ts.depth(t, "flow.manual")
	assert.Equal(t, manual, unacked, "manual-ack deliveries wait for their acks")
}
