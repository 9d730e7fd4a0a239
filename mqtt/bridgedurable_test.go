package mqtt_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/mqtt"
)

// TestBridgeQueueSurvivesRestart checks that persistent messages from
// another face waiting in the bridge queue survive a restart and reach the
// MQTT session, and that after the restart the bindings carry their Matcher
// again (an MQTT publish is not delivered twice).
func TestBridgeQueueSurvivesRestart(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	sub, err := dial3(t, tb.addr, "bq-sub", "guest", "guest", false, nil)
	require.NoError(t, err)
	wait(t, sub.Subscribe("bq/t", 1, nil))
	sub.Disconnect(0)

	// The MQTT face stops; the core keeps routing into the bridge queue.
	require.NoError(t, tb.srv.Shutdown(ctx10(t)))
	for _, body := range []string{"p1", "p2"} {
		m := &message.Message{Exchange: "amq.topic", RoutingKey: "bq.t", Body: []byte(body), Origin: message.FaceAMQP}
		m.Props.Flags = message.FlagDeliveryMode
		m.Props.DeliveryMode = 2
		acked := make(chan bool, 1)
		routed, err := tb.vhost().Publish(m, func(ok bool) { acked <- ok })
		require.NoError(t, err)
		require.True(t, routed)
		require.True(t, <-acked)
	}
	q, err := tb.vhost().Queue(mqtt.BridgeQueue)
	require.NoError(t, err)
	require.Equal(t, 2, q.Stats().Ready)

	tb.restart()
	in := &inbox{}
	_, err = dial3(t, tb.addr, "bq-sub", "guest", "guest", false, in.on3)
	require.NoError(t, err)
	// Both arrive, once each: a message the bridge hands to the session
	// while it reconnects is written once, not also resent from its
	// in-flight window (a CI run once saw p1, p1, p2 before mochi's patch 8).
	eventually(t, func() bool { return count3(in, "p1") >= 1 && count3(in, "p2") >= 1 })

	// The restored binding refuses MQTT publishes again.
	pub, err := dial3(t, tb.addr, "bq-pub", "guest", "guest", true, nil)
	require.NoError(t, err)
	wait(t, pub.Publish("bq/t", 1, false, "mqtt"))
	m := &message.Message{Exchange: "amq.topic", RoutingKey: "bq.t", Body: []byte("marker"), Origin: message.FaceAMQP}
	_, err = tb.vhost().Publish(m, nil)
	require.NoError(t, err)
	eventually(t, func() bool { return count3(in, "marker") == 1 })
	require.Equal(t, 1, count3(in, "mqtt"))
	require.Equal(t, 1, count3(in, "p1"))
	require.Equal(t, 1, count3(in, "p2"))
}

// TestBridgeStaleBindingRemoved checks that a restored bridge binding no
// session needs any more is removed at startup.
func TestBridgeStaleBindingRemoved(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	c, err := dial3(t, tb.addr, "stale", "guest", "guest", false, nil)
	require.NoError(t, err)
	wait(t, c.Subscribe("st/a", 1, nil))
	wait(t, c.Subscribe("st/b", 1, nil))
	wait(t, c.Unsubscribe("st/b"))
	c.Disconnect(0)
	tb.restart()
	keys := map[string]bool{}
	for _, b := range tb.vhost().Routes().Bindings() {
		if b.Dest.Name == mqtt.BridgeQueue {
			keys[b.Key] = true
			require.NotNil(t, b.Matcher, b.Key)
		}
	}
	require.Equal(t, map[string]bool{"st.a": true}, keys)
}

// count3 counts the messages with payload body in a 3.1.1 inbox.
func count3(in *inbox, body string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, m := range in.m3 {
		if string(m.Payload()) == body {
			n++
		}
	}
	return n
}
