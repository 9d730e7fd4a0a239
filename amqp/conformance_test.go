package amqp_test

import (
	"testing"

	rmq "github.com/rabbitmq/amqp091-go"

	"github.com/junctionmq/junction/amqp"
)

// Regressions found by running amqp091-go's own integration suite
// (make conformance) against the server. Each test names the suite test
// that found it.

// TestDeleteMissingIsOk: queue.delete and exchange.delete of names that
// do not exist answer delete-ok (message count 0), as RabbitMQ does; the
// channel stays open. Found by TestConnectionRecoverySkipAndContinueNoInfiniteLoop.
func TestDeleteMissingIsOk(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	n, err := ch.QueueDelete("no-such-queue", false, false, false)
	if err != nil || n != 0 {
		t.Fatalf("QueueDelete missing = %d, %v; want 0, nil", n, err)
	}
	if _, err := ch.QueueDelete("no-such-queue", true, true, false); err != nil {
		t.Fatalf("QueueDelete missing if-unused if-empty: %v", err)
	}
	if err := ch.ExchangeDelete("no-such-exchange", false, false); err != nil {
		t.Fatalf("ExchangeDelete missing: %v", err)
	}
	if _, err := ch.QueueDeclare("after-delete", false, true, false, false, rmq.Table{"x-max-length": int32(10)}); err != nil {
		t.Fatalf("channel closed by the delete: %v", err)
	}
}

// TestChannelCloseBothWays: the server closes a channel (404 on publish)
// while the client closes it too; the client's close-ok for the
// server's close must not be taken for a frame on an unopened channel
// (504), and other channels carry on. Found by
// TestChannelExceptionWithCloseIssue43.
func TestChannelCloseBothWays(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	c := ts.dial(t)
	connClosed := c.NotifyClose(make(chan *rmq.Error, 1))
	for i := range 20 {
		c1, err := c.Channel()
		if err != nil {
			t.Fatal(err)
		}
		c2, err := c.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if err := c1.Publish("nonexisting-exchange", "", false, false, rmq.Publishing{}); err != nil {
			t.Fatal(err)
		}
		c1.Close()
		if err := c2.ExchangeDeclare("still-open", "direct", false, true, false, false, nil); err != nil {
			t.Fatalf("round %d: second channel: %v", i, err)
		}
		c2.Close()
	}
	select {
	case e := <-connClosed:
		t.Fatalf("connection closed: %v", e)
	default:
	}
}

// TestCloseOkAfterCleanup: when connection.close-ok reaches the client,
// the broker has already requeued its unacked deliveries and deleted its
// exclusive and auto-delete queues, as rabbit_reader does; clients (and
// amqp091-go's ExampleConnection_reconnect) rely on it. No polling here on
// purpose.
func TestCloseOkAfterCleanup(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, pub := ts.channel(t)
	for i := range 5 {
		c, err := rmq.Dial(ts.url)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := c.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare("work", false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare("mine", false, false, true, false, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare("auto", false, true, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.Consume("auto", "", false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		ds, err := ch.Consume("work", "", false, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		const n = 2000 // enough unacked deliveries that requeueing them takes a while
		for range n {
			if err := pub.Publish("", "work", false, false, rmq.Publishing{Body: []byte("x")}); err != nil {
				t.Fatal(err)
			}
		}
		for range n {
			recv(t, ds)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if ready, unacked := ts.depth(t, "work"); ready != n || unacked != 0 {
			t.Fatalf("round %d: after Close: ready %d unacked %d, want %d 0", i, ready, unacked, n)
		}
		v, _ := ts.broker.Vhost("/")
		for _, q := range []string{"mine", "auto"} {
			if _, err := v.Queue(q); err == nil {
				t.Fatalf("round %d: queue %q still exists after Close", i, q)
			}
		}
		if _, err := pub.QueuePurge("work", false); err != nil {
			t.Fatal(err)
		}
	}
}
