package amqp_test

import (
	"errors"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/amqp"
)

// TestTopicPermissions: on a topic exchange a publish needs topic write
// permission for its routing key and a binding topic read permission for
// its key (RabbitMQ's check_topic_authorisation, 403 ACCESS_REFUSED);
// other exchange types ignore topic permissions.
func TestTopicPermissions(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	require.NoError(t, ts.broker.Users().SetTopicPermissions("guest", "/", "amq.topic", `^ok\.`, `^ok\.`))
	require.NoError(t, ts.broker.Users().SetTopicPermissions("guest", "/", "amq.direct", `^ok\.`, `^ok\.`))
	// refused runs f on a fresh channel and returns the channel.close.
	refused := func(f func(ch *rmq.Channel) error) *rmq.Error {
		_, ch := ts.channel(t)
		closed := ch.NotifyClose(make(chan *rmq.Error, 1))
		var e *rmq.Error
		if err := f(ch); errors.As(err, &e) {
			return e
		}
		select {
		case e := <-closed:
			return e
		case <-time.After(10 * time.Second):
			return nil
		}
	}
	_, ch := ts.channel(t)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind(q.Name, "ok.#", "amq.topic", false, nil))
	require.NoError(t, ch.QueueBind(q.Name, "no.x", "amq.direct", false, nil), "not a topic exchange")
	require.NoError(t, ch.Confirm(false))
	for _, x := range []struct{ exchange, key string }{{"amq.topic", "ok.a"}, {"amq.direct", "no.x"}} {
		dc, err := ch.PublishWithDeferredConfirm(x.exchange, x.key, false, false, rmq.Publishing{Body: []byte(x.key)})
		require.NoError(t, err)
		require.True(t, dc.Wait(), x.key)
	}
	require.Eventually(t, func() bool {
		n, err := ch.QueueDeclarePassive(q.Name, false, true, true, false, nil)
		return err == nil && n.Messages == 2
	}, 10*time.Second, 10*time.Millisecond)

	e := refused(func(ch *rmq.Channel) error {
		return ch.Publish("amq.topic", "no.a", false, false, rmq.Publishing{Body: []byte("x")})
	})
	require.NotNil(t, e, "publish with a denied key")
	require.Equal(t, 403, e.Code)
	require.Equal(t, "ACCESS_REFUSED - write access to topic 'no.a' in exchange 'amq.topic' in vhost '/' refused for user 'guest'", e.Reason)
	e = refused(func(ch *rmq.Channel) error { return ch.QueueBind(q.Name, "no.#", "amq.topic", false, nil) })
	require.NotNil(t, e, "bind with a denied key")
	require.Equal(t, 403, e.Code)
	require.Equal(t, "ACCESS_REFUSED - read access to topic 'no.#' in exchange 'amq.topic' in vhost '/' refused for user 'guest'", e.Reason)
}
