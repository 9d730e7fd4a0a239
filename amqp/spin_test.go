package amqp_test

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// busyPoll is long enough that a reader between two publishes of a test
// client is still spinning when the next one comes.
const busyPoll = 20 * time.Millisecond

// publishPaced publishes n numbered messages to q, pausing now and then
// so that the server's reader finds its socket empty and spins.
func publishPaced(t *testing.T, ch *rmq.Channel, q string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range n {
		body := binary.BigEndian.AppendUint32(nil, uint32(i))
		require.NoError(t, ch.PublishWithContext(ctx, "", q, false, false, rmq.Publishing{Body: body}))
		if i%8 == 7 {
			time.Sleep(200 * time.Microsecond)
		}
	}
}

// pacedRoundTrip declares q, consumes it with no-ack on ch, publishes n paced
// numbered messages to it and checks they all come back in order.
func pacedRoundTrip(t *testing.T, ch *rmq.Channel, q string, n int) {
	t.Helper()
	_, err := ch.QueueDeclare(q, false, false, false, false, nil)
	require.NoError(t, err)
	ds, err := ch.Consume(q, "", true, false, false, false, nil)
	require.NoError(t, err)
	publishPaced(t, ch, q, n)
	consumeInOrder(t, ds, n)
}

// consumeInOrder reads n numbered messages from ds and checks their order.
func consumeInOrder(t *testing.T, ds <-chan rmq.Delivery, n int) {
	t.Helper()
	for i := range n {
		select {
		case d, ok := <-ds:
			require.True(t, ok, "deliveries closed after %d", i)
			require.Equal(t, uint32(i), binary.BigEndian.Uint32(d.Body), "message %d out of order", i)
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d delivered", i, n)
		}
	}
}

func TestBusyPollPublishConsume(t *testing.T) {
	ts := startServer(t, amqp.Config{BusyPoll: busyPoll})
	_, pub := ts.channel(t)
	_, sub := ts.channel(t)
	_, err := pub.QueueDeclare("spin-q", false, false, false, false, nil)
	require.NoError(t, err)
	auto, err := sub.Consume("spin-q", "auto", true, false, false, false, nil)
	require.NoError(t, err)
	const n = 3000
	publishPaced(t, pub, "spin-q", n)
	consumeInOrder(t, auto, n)

	// Manual acks too: the consumer's acks are read by a spinning reader.
	_, sub2 := ts.channel(t)
	require.NoError(t, sub2.Qos(50, 0, false))
	_, err = pub.QueueDeclare("spin-acked", false, false, false, false, nil)
	require.NoError(t, err)
	acked, err := sub2.Consume("spin-acked", "acked", false, false, false, false, nil)
	require.NoError(t, err)
	go publishPaced(t, pub, "spin-acked", n)
	for i := range n {
		select {
		case d := <-acked:
			require.Equal(t, uint32(i), binary.BigEndian.Uint32(d.Body))
			require.NoError(t, d.Ack(false))
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d delivered", i, n)
		}
	}
	require.Eventually(t, func() bool {
		ready, unacked := ts.depth(t, "spin-acked")
		return ready == 0 && unacked == 0
	}, 10*time.Second, 10*time.Millisecond)

	limit, _, peak, hits := amqp.SpinStats(ts.srv)
	assert.Positive(t, hits, "no read found its data while spinning")
	assert.LessOrEqual(t, peak, limit)
}

func TestBusyPollOffDoesNotSpin(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	pacedRoundTrip(t, ch, "still", 200)
	_, _, peak, hits := amqp.SpinStats(ts.srv)
	assert.Zero(t, peak)
	assert.Zero(t, hits)
}

// TestBusyPollHeartbeatTimeout: a client that goes silent is still hung up
// on after two missed heartbeats, the reader's deadline being kept while
// it spins.
func TestBusyPollHeartbeatTimeout(t *testing.T) {
	ts := startServer(t, amqp.Config{Heartbeat: time.Second, BusyPoll: busyPoll})
	rc := dialRaw(t, ts.addr)
	tok := defaultTuneOk
	tok.Heartbeat = 1
	rc.handshake(tok)
	rc.send(1, &amqp091.ChannelOpen{})
	_, m := rc.method()
	require.IsType(t, &amqp091.ChannelOpenOk{}, m)
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err = rc.frame(); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, io.EOF)
	require.Eventually(t, func() bool { return len(ts.srv.Connections()) == 0 }, 10*time.Second, 10*time.Millisecond)
	_, busy, _, _ := amqp.SpinStats(ts.srv)
	assert.Zero(t, busy, "a token outlived its reader")
}

// TestBusyPollNotForHeartbeats: a connection whose only traffic is a
// heartbeat now and then does not spin after each one; it spins again
// once its traffic comes closer together than the budget.
func TestBusyPollNotForHeartbeats(t *testing.T) {
	ts := startServer(t, amqp.Config{Heartbeat: time.Second, BusyPoll: busyPoll})
	rc := dialRaw(t, ts.addr)
	tok := defaultTuneOk
	tok.Heartbeat = 1
	rc.handshake(tok)
	heartbeat := []byte{amqp091.FrameHeartbeat, 0, 0, 0, 0, 0, 0, amqp091.FrameEnd}
	time.Sleep(3 * busyPoll) // past the handshake's own traffic
	before := amqp.SpinsBegun(ts.srv)
	for range 8 {
		rc.write(heartbeat)
		time.Sleep(3 * busyPoll)
	}
	require.Equal(t, before, amqp.SpinsBegun(ts.srv), "a reader spun after a lone heartbeat")
	// Traffic closer together than the budget: the reader spins.
	require.Eventually(t, func() bool {
		rc.write(heartbeat)
		rc.write(heartbeat)
		return amqp.SpinsBegun(ts.srv) > before
	}, 10*time.Second, time.Millisecond)
}

// TestBusyPollClientHangsUp: a client that closes its socket while the
// reader spins ends the connection.
func TestBusyPollClientHangsUp(t *testing.T) {
	ts := startServer(t, amqp.Config{BusyPoll: time.Second})
	rc := dialRaw(t, ts.addr)
	rc.handshake(defaultTuneOk)
	rc.send(1, &amqp091.ChannelOpen{})
	_, m := rc.method()
	require.IsType(t, &amqp091.ChannelOpenOk{}, m)
	require.NoError(t, rc.nc.Close())
	require.Eventually(t, func() bool { return len(ts.srv.Connections()) == 0 }, 10*time.Second, 10*time.Millisecond)
	_, busy, _, _ := amqp.SpinStats(ts.srv)
	assert.Zero(t, busy)
}

// TestBusyPollTokenLimit: with many connections publishing at once, no more
// readers spin than there are tokens. GOMAXPROCS is raised for it, so
// that several tokens are contended (the server takes GOMAXPROCS-1).
func TestBusyPollTokenLimit(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(6))
	ts := startServer(t, amqp.Config{BusyPoll: busyPoll})
	const conns, n = 24, 300
	chans := make([]*rmq.Channel, conns)
	subs := make([]<-chan rmq.Delivery, conns)
	for i := range chans {
		_, ch := ts.channel(t)
		q := fmt.Sprintf("spin-%d", i)
		_, err := ch.QueueDeclare(q, false, false, false, false, nil)
		require.NoError(t, err)
		subs[i], err = ch.Consume(q, "", true, false, false, false, nil)
		require.NoError(t, err)
		chans[i] = ch
	}
	var wg sync.WaitGroup
	for i, ch := range chans {
		wg.Go(func() { publishPaced(t, ch, fmt.Sprintf("spin-%d", i), n) })
	}
	for _, ds := range subs {
		consumeInOrder(t, ds, n)
	}
	wg.Wait()
	limit, _, peak, hits := amqp.SpinStats(ts.srv)
	t.Logf("limit %d peak %d hits %d", limit, peak, hits)
	assert.Equal(t, 5, limit)
	assert.Positive(t, hits)
	assert.GreaterOrEqual(t, peak, 1)
	assert.LessOrEqual(t, peak, limit)
	for _, ch := range chans {
		require.NoError(t, ch.Close())
	}
	require.Eventually(t, func() bool {
		_, busy, _, _ := amqp.SpinStats(ts.srv)
		return busy == 0
	}, 10*time.Second, 10*time.Millisecond)
}

// TestBusyPollTLS: TLS connections work with busy polling on, and do not
// spin (a *tls.Conn reads through its own buffer).
func TestBusyPollTLS(t *testing.T) {
	ca := newTestCA(t)
	ts := startServer(t, amqp.Config{BusyPoll: busyPoll})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ca.issue(t, "127.0.0.1", true)},
	})
	require.NoError(t, err)
	go ts.srv.Serve(ln)
	c, err := dialTLS(t, "amqps://guest:guest@"+ln.Addr().String()+"/", &tls.Config{RootCAs: ca.pool}, false)
	require.NoError(t, err)
	ch, err := c.Channel()
	require.NoError(t, err)
	pacedRoundTrip(t, ch, "spin-tls", 500)
	_, _, peak, _ := amqp.SpinStats(ts.srv)
	assert.Zero(t, peak, "a TLS reader spun")
	require.NoError(t, c.Close())
	if err := c.Close(); err != nil && !errors.Is(err, rmq.ErrClosed) {
		t.Fatal(err)
	}
}
