package mqtt_test

import (
	"io"
	"net"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	packets3 "github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

// TestRateLimitThrottles checks that a client publishing faster than its
// rate limit is slowed down (its read loop waits), losing nothing, in 3.1.1
// and 5.0.
func TestRateLimitThrottles(t *testing.T) {
	tb := startBroker(t, mqtt.Config{RateLimit: 20, RateBurst: 5})
	q := tb.coreQueue("rl", "rl.#")
	c3, err := dial3(t, tb.addr, "rl3", "guest", "guest", true, nil)
	require.NoError(t, err)
	start := time.Now()
	for range 15 { // 5 at once, then 10 at 20/s: 0.5 s
		wait(t, c3.Publish("rl/3", 1, false, "x"))
	}
	require.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond)
	require.Positive(t, tb.srv.Stats().Throttled)

	c5, _, err := dial5(t, tb.addr, guest5("rl5"), nil)
	require.NoError(t, err)
	start = time.Now()
	for range 15 {
		pr, err := c5.Publish(ctx10(t), &paho5.Publish{Topic: "rl/5", QoS: 1, Payload: []byte("y")})
		require.NoError(t, err)
		require.EqualValues(t, 0, pr.ReasonCode)
	}
	require.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond)
	eventually(t, func() bool { return q.Stats().Ready == 30 })
}

// TestMaxConnections checks the connection limit: CONNACK 0x97 quota
// exceeded in 5.0, 0x03 server unavailable in 3.1.1, and a slot freed by a
// disconnect is usable again.
func TestMaxConnections(t *testing.T) {
	tb := startBroker(t, mqtt.Config{MaxConnections: 2})
	a, err := dial3(t, tb.addr, "mc-a", "guest", "guest", true, nil)
	require.NoError(t, err)
	_, _, err = dial5(t, tb.addr, guest5("mc-b"), nil)
	require.NoError(t, err)

	_, ca, err := dial5(t, tb.addr, guest5("mc-c"), nil)
	require.Error(t, err)
	require.NotNil(t, ca)
	require.EqualValues(t, 0x97, ca.ReasonCode)
	_, err = dial3(t, tb.addr, "mc-d", "guest", "guest", true, nil)
	require.ErrorIs(t, err, packets3.ErrorRefusedServerUnavailable)
	require.EqualValues(t, 2, tb.srv.Stats().ConnectionsRefused)

	a.Disconnect(0)
	eventually(t, func() bool {
		c, err := dial3(t, tb.addr, "mc-e", "guest", "guest", true, nil)
		if err == nil {
			c.Disconnect(0)
		}
		return err == nil
	})
}

// connect5 is a raw MQTT 5 CONNECT as guest with client id "rx".
var connect5 = []byte{0x10, 29, 0, 4, 'M', 'Q', 'T', 'T', 5, 0xC2, 0, 60, 0,
	0, 2, 'r', 'x', 0, 5, 'g', 'u', 'e', 's', 't', 0, 5, 'g', 'u', 'e', 's', 't'}

// TestPacketTooLarge checks that a packet over MaxPacketSize ends an MQTT 5
// connection with DISCONNECT 0x95, sent as soon as the fixed header
// arrives, and an MQTT 3.1.1 connection without one.
func TestPacketTooLarge(t *testing.T) {
	tb := startBroker(t, mqtt.Config{MaxPacketSize: 1024})
	nc, err := net.Dial("tcp", tb.addr)
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, nc.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = nc.Write(connect5)
	require.NoError(t, err)
	hdr := make([]byte, 2)
	_, err = io.ReadFull(nc, hdr)
	require.NoError(t, err)
	require.EqualValues(t, 0x20, hdr[0]) // CONNACK
	ack := make([]byte, hdr[1])
	_, err = io.ReadFull(nc, ack)
	require.NoError(t, err)
	require.EqualValues(t, 0, ack[1])
	// PUBLISH QoS 0, remaining length 2000, then part of its body.
	big := append([]byte{0x30, 0xD0, 0x0F, 0, 3, 'b', '/', 'x', 0}, make([]byte, 1500)...)
	_, err = nc.Write(big)
	require.NoError(t, err)
	got, err := io.ReadAll(nc)
	require.NoError(t, err)
	require.Equal(t, []byte{0xE0, 2, 0x95, 0}, got)
	require.EqualValues(t, 1, tb.srv.Stats().PacketsTooLarge)

	// A packet just under the limit is fine.
	c, _, err := dial5(t, tb.addr, guest5("ok"), nil)
	require.NoError(t, err)
	_, err = c.Publish(ctx10(t), &paho5.Publish{Topic: "b/y", QoS: 1, Payload: make([]byte, 900)})
	require.NoError(t, err)
}
