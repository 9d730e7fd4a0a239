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
