package amqp_test

import (
	"testing"

	rmq "github.com/rabbitmq/amqp091-go"

	"github.com/junctionmq/junction/amqp"
)

// TestErrorCodes checks every error the face maps: code, reply text as
// RabbitMQ writes it, and scope (channel or connection).
func TestErrorCodes(t *testing.T) {
	body := func(n int) rmq.Publishing { return rmq.Publishing{Body: make([]byte, n)} }
	cases := []struct {
		name   string
		hard   bool
		run    func(ts *testServer, ch *rmq.Channel) error // nil error: wait for the close
		code   int
		reason string
	}{
		{"passive queue", false, func(_ *testServer, ch *rmq.Channel) error {
			_, err := ch.QueueDeclarePassive("missing", false, false, false, false, nil)
			return err
		}, 404, "NOT_FOUND - no queue 'missing' in vhost '/'"},
		{"passive exchange", false, func(_ *testServer, ch *rmq.Channel) error {
			return ch.ExchangeDeclarePassive("missing", "direct", false, false, false, false, nil)
		}, 404, "NOT_FOUND - no exchange 'missing' in vhost '/'"},
		{"bind missing exchange", false, func(_ *testServer, ch *rmq.Channel) error {
			ch.QueueDeclare("bq", false, false, false, false, nil)
			return ch.QueueBind("bq", "k", "nox", false, nil)
		}, 404, "NOT_FOUND - no exchange 'nox' in vhost '/'"},
		{"publish missing exchange", false, func(_ *testServer, ch *rmq.Channel) error {
			return ch.Publish("nox", "k", false, false, body(1))
		}, 404, "NOT_FOUND - no exchange 'nox' in vhost '/'"},
		{"reserved queue name", false, func(_ *testServer, ch *rmq.Channel) error {
			_, err := ch.QueueDeclare("amq.q", false, false, false, false, nil)
			return err
		}, 403, "ACCESS_REFUSED - queue name 'amq.q' contains reserved prefix 'amq.*'"},
		{"reserved exchange name", false, func(_ *testServer, ch *rmq.Channel) error {
			return ch.ExchangeDeclare("amq.x", "direct", false, false, false, false, nil)
		}, 403, "ACCESS_REFUSED - exchange name 'amq.x' contains reserved prefix 'amq.*'"},
		{"default exchange delete", false, func(_ *testServer, ch *rmq.Channel) error {
			return ch.ExchangeDelete("", false, false)
		}, 403, "ACCESS_REFUSED - operation not permitted on the default exchange"},
		{"inequivalent", false, func(_ *testServer, ch *rmq.Channel) error {
			ch.QueueDeclare("dq", false, false, false, false, nil)
			_, err := ch.QueueDeclare("dq", true, false, false, false, nil)
			return err
		}, 406, "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'dq' in vhost '/': received 'true' but current is 'false'"},
		{"exclusive queue of another connection", false, func(ts *testServer, ch *rmq.Channel) error {
			_, other := ts.channel(t)
			if _, err := other.QueueDeclare("ex", false, false, true, false, nil); err != nil {
				return err
			}
			_, err := ch.QueueDeclare("ex", false, false, false, false, nil)
			return err
		}, 405, "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'ex' in vhost '/'. It could be originally " +
			"declared on another connection or the exclusive property value does not match that of the original declaration."},
		{"exclusive consumer", false, func(ts *testServer, ch *rmq.Channel) error {
			_, other := ts.channel(t)
			other.QueueDeclare("xc", false, false, false, false, nil)
			if _, err := other.Consume("xc", "a", false, true, false, false, nil); err != nil {
				return err
			}
			_, err := ch.Consume("xc", "b", false, false, false, false, nil)
			return err
		}, 403, "ACCESS_REFUSED - queue 'xc' in vhost '/' in exclusive use"},
		{"delete if-empty", false, func(_ *testServer, ch *rmq.Channel) error {
			ch.QueueDeclare("ne", false, false, false, false, nil)
			ch.Publish("", "ne", false, false, body(1))
			_, err := ch.QueueDelete("ne", false, true, false)
			return err
		}, 406, "PRECONDITION_FAILED - queue 'ne' in vhost '/' not empty"},
		{"unknown delivery tag", false, func(_ *testServer, ch *rmq.Channel) error {
			return ch.Ack(99, false)
		}, 406, "PRECONDITION_FAILED - unknown delivery tag 99"},
		{"user-id", false, func(_ *testServer, ch *rmq.Channel) error {
			return ch.Publish("", "k", false, false, rmq.Publishing{UserId: "bob"})
		}, 406, "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'"},
		{"message too large", false, func(_ *testServer, ch *rmq.Channel) error {
			return ch.Publish("", "k", false, false, body(2000))
		}, 406, "PRECONDITION_FAILED - message size 2000 is larger than configured max size 1000"},
		{"commit without tx", false, func(_ *testServer, ch *rmq.Channel) error {
			return ch.TxCommit()
		}, 406, "PRECONDITION_FAILED - channel is not transactional"},
		{"reply-to without consumer", false, func(_ *testServer, ch *rmq.Channel) error {
			return ch.Publish("", "k", false, false, rmq.Publishing{ReplyTo: "amq.rabbitmq.reply-to"})
		}, 406, "PRECONDITION_FAILED - fast reply consumer does not exist"},
		{"immediate", true, func(_ *testServer, ch *rmq.Channel) error {
			return ch.Publish("", "k", false, true, body(1))
		}, 540, "NOT_IMPLEMENTED - immediate=true"},
		{"prefetch size", true, func(_ *testServer, ch *rmq.Channel) error {
			return ch.Qos(1, 10, false)
		}, 540, "NOT_IMPLEMENTED - prefetch_size!=0 (10)"},
		{"recover without requeue", true, func(_ *testServer, ch *rmq.Channel) error {
			return ch.Recover(false)
		}, 540, "NOT_IMPLEMENTED - requeue=false"},
		{"flow off", true, func(_ *testServer, ch *rmq.Channel) error {
			return ch.Flow(false)
		}, 540, "NOT_IMPLEMENTED - active=false"},
		{"exchange type", true, func(_ *testServer, ch *rmq.Channel) error {
			return ch.ExchangeDeclare("bt", "bogus", false, false, false, false, nil)
		}, 503, "COMMAND_INVALID - unknown exchange type 'bogus'"},
		{"consumer tag reuse", true, func(_ *testServer, ch *rmq.Channel) error {
			ch.QueueDeclare("ct", false, false, false, false, nil)
			ch.Consume("ct", "dup", false, false, false, false, nil)
			_, err := ch.Consume("ct", "dup", false, false, false, false, nil)
			return err
		}, 530, "NOT_ALLOWED - attempt to reuse consumer tag 'dup'"},
	}
	ts := startServer(t, amqp.Config{MaxMessageSize: 1000})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, ch := ts.channel(t)
			chClosed := ch.NotifyClose(make(chan *rmq.Error, 1))
			connClosed := c.NotifyClose(make(chan *rmq.Error, 1))
			if err := tc.run(ts, ch); err != nil {
				wantErr(t, err, tc.code, tc.reason)
			} else if tc.hard {
				wantErr(t, closeErr(t, connClosed), tc.code, tc.reason)
			} else {
				wantErr(t, closeErr(t, chClosed), tc.code, tc.reason)
			}
			if c.IsClosed() != tc.hard {
				t.Errorf("connection closed = %v, want %v", c.IsClosed(), tc.hard)
			}
			if !tc.hard { // the connection survives a channel error
				if _, err := c.Channel(); err != nil {
					t.Errorf("new channel after a soft error: %v", err)
				}
			}
		})
	}
}
