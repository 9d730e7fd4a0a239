package mqtt_test

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/mqtt"
)

func TestRetainedSurvivesRestart(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	pub, err := dial3(t, tb.addr, "rpub", "guest", "guest", true, nil)
	require.NoError(t, err)
	wait(t, pub.Publish("r/1", 1, true, "v1"))
	wait(t, pub.Publish("r/1", 1, true, "v2")) // replaces v1
	wait(t, pub.Publish("r/2", 1, true, "gone"))
	wait(t, pub.Publish("r/2", 1, true, "")) // clears r/2
	pub.Disconnect(0)

	tb.restart()

	in := &inbox{}
	sub, err := dial3(t, tb.addr, "rsub", "guest", "guest", true, in.on3)
	require.NoError(t, err)
	wait(t, sub.Subscribe("r/#", 1, nil))
	// Retained messages are sent after the SUBACK, not ordered against
	// other publishers: wait for r/1, then for a live marker, by which time
	// the retained loop that sent r/1 is long done.
	eventually(t, func() bool { return topics3(in)["r/1"] == 1 })
	p2, err := dial3(t, tb.addr, "rpub2", "guest", "guest", true, nil)
	require.NoError(t, err)
	wait(t, p2.Publish("r/marker", 1, false, "m"))
	eventually(t, func() bool { return topics3(in)["r/marker"] == 1 })
	require.Equal(t, map[string]int{"r/1": 1, "r/marker": 1}, topics3(in))
	for _, m := range in.wait3(t, 2) {
		if m.Topic() == "r/1" {
			require.Equal(t, "v2", string(m.Payload()))
			require.True(t, m.Retained())
		}
	}
}

func topics3(in *inbox) map[string]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := map[string]int{}
	for _, m := range in.m3 {
		out[m.Topic()]++
	}
	return out
}

// A persistent session's QoS 1 messages, queued while it is offline, from
// MQTT and from the core, survive a broker restart.
func TestPersistentSessionSurvivesRestart(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	c, err := dial3(t, tb.addr, "device", "guest", "guest", false, nil)
	require.NoError(t, err)
	wait(t, c.Subscribe("p/#", 1, nil))
	c.Disconnect(0)

	pub, err := dial3(t, tb.addr, "ppub", "guest", "guest", true, nil)
	require.NoError(t, err)
	wait(t, pub.Publish("p/1", 1, false, "from-mqtt"))
	publishCore(t, tb, "p.2", "from-core")
	// The bridge has handed the core's message to mochi (the bridge queue
	// is transient: what it still holds at shutdown is lost).
	bq, err := tb.vhost().Queue(mqtt.BridgeQueue)
	require.NoError(t, err)
	eventually(t, func() bool { st := bq.Stats(); return st.Ready == 0 && st.Unacked == 0 })
	pub.Disconnect(0)

	tb.restart()
	publishCore(t, tb, "p.3", "after-restart") // the binding was restored

	in := &inbox{}
	_, err = dial3(t, tb.addr, "device", "guest", "guest", false, in.on3)
	require.NoError(t, err)
	eventually(t, func() bool { return len(topics3(in)) == 3 })
	var bodies []string
	for _, m := range in.wait3(t, 3) {
		bodies = append(bodies, string(m.Payload()))
		require.EqualValues(t, 1, m.Qos())
	}
	sort.Strings(bodies)
	require.Equal(t, []string{"after-restart", "from-core", "from-mqtt"}, bodies)
}

// publishCore publishes a persistent message to amq.topic as the AMQP face
// would.
func publishCore(t *testing.T, tb *testBroker, key, body string) {
	t.Helper()
	m := &message.Message{Exchange: "amq.topic", RoutingKey: key, Body: []byte(body), Origin: message.FaceAMQP}
	m.Props.Flags = message.FlagDeliveryMode
	m.Props.DeliveryMode = 2
	routed, err := tb.vhost().Publish(m, nil)
	require.NoError(t, err)
	require.True(t, routed)
}
