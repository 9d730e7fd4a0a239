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

// TestPublishPermissionChangeTakesEffect: a connection that has published
// (its grant is cached) is refused its next publish as soon as its write
// permission, or a topic permission, is taken away, on the same channel.
func TestPublishPermissionChangeTakesEffect(t *testing.T) {
	tests := []struct {
		name   string
		revoke func(t *testing.T, ts *testServer)
		reason string
	}{
		{"write permission", func(t *testing.T, ts *testServer) {
			require.NoError(t, ts.broker.Users().SetPermissions("guest", "/", ".*", "^nothing$", ".*"))
		}, "ACCESS_REFUSED - write access to exchange 'amq.topic' in vhost '/' refused for user 'guest'"},
		{"topic permission", func(t *testing.T, ts *testServer) {
			require.NoError(t, ts.broker.Users().SetTopicPermissions("guest", "/", "amq.topic", `^ok\.`, ".*"))
		}, "ACCESS_REFUSED - write access to topic 'no.a' in exchange 'amq.topic' in vhost '/' refused for user 'guest'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, amqp.Config{})
			_, ch := ts.channel(t)
			closed := ch.NotifyClose(make(chan *rmq.Error, 1))
			require.NoError(t, ch.Confirm(false))
			publish := func() *rmq.DeferredConfirmation {
				dc, err := ch.PublishWithDeferredConfirm("amq.topic", "no.a", false, false, rmq.Publishing{Body: []byte("x")})
				require.NoError(t, err)
				return dc
			}
			for range 3 {
				require.True(t, publish().Wait())
			}
			tt.revoke(t, ts)
			publish()
			select {
			case e := <-closed:
				require.NotNil(t, e)
				require.Equal(t, 403, e.Code)
				require.Equal(t, tt.reason, e.Reason)
			case <-time.After(10 * time.Second):
				t.Fatal("the publish after the change was not refused")
			}
		})
	}
}
