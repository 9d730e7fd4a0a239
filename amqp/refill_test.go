package amqp_test

import (
	"encoding/binary"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/amqp"
)

// refillSetup declares queue q with n numbered messages ready, then
// consumes it with the given prefetch on a connection of its own.
func refillSetup(t *testing.T, ts *testServer, q string, n, prefetch int) <-chan rmq.Delivery {
	t.Helper()
	_, pub := ts.channel(t)
	_, err := pub.QueueDeclare(q, false, false, false, false, nil)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, pub.Publish("", q, false, false, rmq.Publishing{Body: binary.BigEndian.AppendUint32(nil, uint32(i))}))
	}
	waitFor(t, func() bool { ready, _ := ts.depth(t, q); return ready == n })
	_, sub := ts.channel(t)
	require.NoError(t, sub.Qos(prefetch, 0, false))
	ds, err := sub.Consume(q, "", false, false, false, false, nil)
	require.NoError(t, err)
	return ds
}

func bodyID(d rmq.Delivery) int { return int(binary.BigEndian.Uint32(d.Body)) }

// TestRefillSingleAcksInOrder: a consumer that acks each delivery alone
// with a window of 50 gets the deliveries its acks let out in batches
// (holdRefill waits while it holds more than 7/8 of its window): every
// message arrives once, in order, and the queue ends empty.
func TestRefillSingleAcksInOrder(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	const n = 5000
	ds := refillSetup(t, ts, "refill", n, 50)
	for i := range n {
		d := recv(t, ds)
		require.Equal(t, i, bodyID(d))
		require.False(t, d.Redelivered)
		require.NoError(t, d.Ack(false))
	}
	waitFor(t, func() bool { ready, unacked := ts.depth(t, "refill"); return ready == 0 && unacked == 0 })
	require.NotZero(t, amqp.RefillHolds(ts.srv), "no refill waited for more acks")
}

// TestRefillAckMultiple: acks that name ten tags at a time (multiple)
// never leave the client without deliveries: all arrive, in order.
func TestRefillAckMultiple(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	const n = 3000
	ds := refillSetup(t, ts, "refill-multi", n, 100)
	for i := range n {
		d := recv(t, ds)
		require.Equal(t, i, bodyID(d))
		if i%10 == 9 {
			require.NoError(t, d.Ack(true))
		}
	}
	waitFor(t, func() bool { ready, unacked := ts.depth(t, "refill-multi"); return ready == 0 && unacked == 0 })
}

// TestRefillWorkerHoldsWindow: a client that holds most of its window
// unacked (long tasks) and acks one delivery still gets the one that ack
// lets out, though it holds more than 7/8 of its window: what waits for
// more acks is written after refillWait. A synchronous method sent while
// the reader waits for more acks' bytes (SO_RCVLOWAT) is answered, and
// the rest of the queue follows in order.
func TestRefillWorkerHoldsWindow(t *testing.T) {
	for _, lowat := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "rcvlowat"}[lowat], func(t *testing.T) {
			if lowat {
				amqp.AlwaysLowat(t)
			}
			refillWorker(t)
		})
	}
}

func refillWorker(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	const n, window = 300, 100
	_, pub := ts.channel(t)
	_, err := pub.QueueDeclare("workers", false, false, false, false, nil)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, pub.Publish("", "workers", false, false, rmq.Publishing{Body: binary.BigEndian.AppendUint32(nil, uint32(i))}))
	}
	waitFor(t, func() bool { ready, _ := ts.depth(t, "workers"); return ready == n })
	_, sub := ts.channel(t)
	require.NoError(t, sub.Qos(window, 0, false))
	ds, err := sub.Consume("workers", "", false, false, false, false, nil)
	require.NoError(t, err)

	var held []rmq.Delivery
	for i := range window {
		d := recv(t, ds)
		require.Equal(t, i, bodyID(d))
		held = append(held, d)
	}
	// One task done: its ack lets one delivery out, which waits (the
	// client holds 99) and is written after refillWait. A writer that
	// was still running from the consume's deliveries (a wake left over,
	// on a loaded machine) may take the delivery before the reader holds
	// it; then it simply goes out, and the next task's ack is tried, until
	// one refill waited. The delivery has come either way, and the reader
	// decided before it came.
	holds := amqp.RefillHolds(ts.srv)
	next := window
	for tries := 0; amqp.RefillHolds(ts.srv) == holds; tries++ {
		require.Less(t, tries, 20, "the refill never waited")
		require.NoError(t, held[0].Ack(false))
		held = held[1:]
		d := recv(t, ds)
		require.Equal(t, next, bodyID(d))
		held = append(held, d)
		next++
	}

	// Another, then at once a method that needs an answer.
	require.NoError(t, held[0].Ack(false))
	held = held[1:]
	qosDone := make(chan error, 1)
	go func() { qosDone <- sub.Qos(window, 0, false) }()
	select {
	case err := <-qosDone:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("basic.qos not answered while a refill waited")
	}
	d := recv(t, ds)
	require.Equal(t, next, bodyID(d))
	held = append(held, d)
	next++

	// The rest, acked one by one.
	for len(held) > 0 {
		require.NoError(t, held[0].Ack(false))
		held = held[1:]
		if next < n {
			d := recv(t, ds)
			require.Equal(t, next, bodyID(d))
			held = append(held, d)
			next++
		}
	}
	waitFor(t, func() bool { ready, unacked := ts.depth(t, "workers"); return ready == 0 && unacked == 0 })
}
