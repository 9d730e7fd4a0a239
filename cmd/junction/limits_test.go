package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/config"
)

// limitDefinitions gives user "capped" (password test12) RabbitMQ's user
// limit max-connections 2, and vhost "limited" the vhost limits
// max-connections 1 and max-queues 1.
const limitDefinitions = `{
  "users": [{"name": "capped", "password_hash": "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR",
             "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": [], "limits": {"max-connections": 2}}],
  "vhosts": [{"name": "/"}, {"name": "limited"}],
  "permissions": [{"user": "capped", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
                  {"user": "guest", "vhost": "limited", "configure": ".*", "write": ".*", "read": ".*"}],
  "parameters": [{"vhost": "limited", "component": "vhost-limits", "name": "limits",
                  "value": {"max-connections": 1, "max-queues": 1}}]
}`

// TestUserAndVhostLimits loads RabbitMQ user and vhost limits from a
// definitions file at boot and checks them with real clients: a user's
// max-connections counts AMQP and MQTT connections together, a vhost's
// max-connections and max-queues hold, each refusal is the face's own
// answer, and a closed connection frees its place.
func TestUserAndVhostLimits(t *testing.T) {
	dir := t.TempDir()
	defs := filepath.Join(dir, "definitions.json")
	require.NoError(t, os.WriteFile(defs, []byte(limitDefinitions), 0o600))
	cfg := config.Defaults()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Definitions = defs
	listeners := serveWired(t, cfg, config.AMQP, config.MQTT)
	amqpAddr, mqttAddr := listeners[config.AMQP].Addr().String(), "tcp://"+listeners[config.MQTT].Addr().String()
	dialAMQP := func(user, vhost string) (*rmq.Connection, error) {
		c, err := rmq.DialConfig("amqp://"+user+"@"+amqpAddr+"/", rmq.Config{Vhost: vhost})
		if err == nil {
			t.Cleanup(func() { _ = c.Close() })
		}
		return c, err
	}
	dialMQTT := func(id, username, password string) (paho.Client, error) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(mqttAddr).SetClientID(id).
			SetUsername(username).SetPassword(password).SetAutoReconnect(false).SetConnectRetry(false))
		tok := c.Connect()
		require.True(t, tok.WaitTimeout(10*time.Second))
		if tok.Error() == nil {
			t.Cleanup(func() { c.Disconnect(0) })
		}
		return c, tok.Error()
	}
	refused := func(t *testing.T, err error, text string) {
		t.Helper()
		var ae *rmq.Error
		require.True(t, errors.As(err, &ae), "want a connection.close, got %v", err)
		require.Equal(t, rmq.NotAllowed, ae.Code)
		require.Equal(t, "NOT_ALLOWED - "+text, ae.Reason)
	}

	t.Run("user max-connections counts AMQP and MQTT", func(t *testing.T) {
		_, err := dialAMQP("capped:test12", "/")
		require.NoError(t, err)
		m, err := dialMQTT("capped-1", "capped", "test12")
		require.NoError(t, err)
		_, err = dialAMQP("capped:test12", "/")
		refused(t, err, "connection refused for user 'capped': user connection limit (2) is reached")
		_, err = dialMQTT("capped-2", "capped", "test12")
		require.ErrorIs(t, err, packets.ErrorRefusedServerUnavailable, "MQTT 3.1.1 CONNACK 0x03")
		m.Disconnect(0)
		require.Eventually(t, func() bool {
			c, err := dialAMQP("capped:test12", "/")
			return err == nil && c != nil
		}, 10*time.Second, 20*time.Millisecond, "the MQTT connection's place is free once it closed")
	})

	t.Run("vhost max-connections and max-queues", func(t *testing.T) {
		c, err := dialAMQP("guest:guest", "limited")
		require.NoError(t, err)
		_, err = dialAMQP("guest:guest", "limited")
		refused(t, err, "access to vhost 'limited' refused for user 'guest': connection limit (1) is reached")
		_, err = dialMQTT("lim-1", "limited:guest", "guest")
		require.ErrorIs(t, err, packets.ErrorRefusedServerUnavailable)

		ch, err := c.Channel()
		require.NoError(t, err)
		_, err = ch.QueueDeclare("q1", true, false, false, false, nil)
		require.NoError(t, err)
		_, err = ch.QueueDeclare("q2", true, false, false, false, nil)
		var ae *rmq.Error
		require.True(t, errors.As(err, &ae), "%v", err)
		require.Equal(t, rmq.PreconditionFailed, ae.Code)
		require.Equal(t, "PRECONDITION_FAILED - cannot declare queue 'q2': queue limit in vhost 'limited' (1) is reached", ae.Reason)
		// Other vhosts are not limited.
		_, err = dialAMQP("guest:guest", "/")
		require.NoError(t, err)
	})
}
