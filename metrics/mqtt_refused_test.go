package metrics_test

import (
	"bytes"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

// TestMQTTRefused: a CONNECT over the connection limit and a packet over
// the size limit are counted by reason on /metrics, as are the store's
// superseded updates and the MQTT publish waits (both present from the
// start).
func TestMQTTRefused(t *testing.T) {
	s := startStack(t, mqtt.Config{MaxConnections: 1, MaxPacketSize: 1024})
	refused := func(reason string) float64 {
		return value(scrape(t, s.metricsURL), "junction_mqtt_refused_total", map[string]string{"reason": reason})
	}
	fams := scrape(t, s.metricsURL)
	for _, reason := range []string{"max_connections", "packet_too_large", "inflight_full"} {
		require.Zero(t, value(fams, "junction_mqtt_refused_total", map[string]string{"reason": reason}), reason)
	}
	for _, reason := range []string{"inflight", "outbound", "rate"} {
		require.Zero(t, value(fams, "junction_mqtt_publish_waits_total", map[string]string{"reason": reason}), reason)
	}
	require.GreaterOrEqual(t, value(fams, "junction_store_superseded_updates_total", nil), float64(0))

	lost := make(chan error, 1)
	o := paho3.NewClientOptions().AddBroker("tcp://" + s.mqttAddr).SetClientID("first").
		SetUsername("guest").SetPassword("guest").SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ paho3.Client, err error) { lost <- err })
	first := paho3.NewClient(o)
	wait3(t, first.Connect())

	second := paho3.NewClient(paho3.NewClientOptions().AddBroker("tcp://" + s.mqttAddr).SetClientID("second").
		SetUsername("guest").SetPassword("guest").SetAutoReconnect(false).SetProtocolVersion(4)) // no fallback to 3.1: one CONNECT
	tok := second.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.Error(t, tok.Error(), "a second client over MaxConnections 1 is refused")
	require.Eventually(t, func() bool { return refused("max_connections") == 1 }, 30*time.Second, 20*time.Millisecond)

	first.Publish("big", 0, false, bytes.Repeat([]byte("x"), 2048))
	select {
	case <-lost:
	case <-time.After(30 * time.Second):
		t.Fatal("the connection that sent a packet over MaxPacketSize was not closed")
	}
	require.Eventually(t, func() bool { return refused("packet_too_large") == 1 }, 30*time.Second, 20*time.Millisecond)
}
