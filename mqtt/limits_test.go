package mqtt_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
	packets3 "github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

// TestInflightFullRefused checks that a publish a full session would drop is
// refused instead: PUBACK 0x97 in MQTT 5, a closed connection without PUBACK
// in 3.1.1, counted in Stats, and the queued messages are all kept.
func TestInflightFullRefused(t *testing.T) {
	tb := startBroker(t, mqtt.Config{MaxInflight: 2})
	sub, err := dial3(t, tb.addr, "full-sub", "guest", "guest", false, nil)
	require.NoError(t, err)
	wait(t, sub.Subscribe("full/t", 1, nil))
	sub.Disconnect(0)

	pub := pub5(t, tb, "full-pub5")
	for _, p := range []string{"1", "2"} {
		publish5(t, pub, &paho5.Publish{Topic: "full/t", QoS: 1, Payload: []byte(p)})
	}
	pr, err := pub.Publish(ctx10(t), &paho5.Publish{Topic: "full/t", QoS: 1, Payload: []byte("3")})
	require.Error(t, err)
	require.NotNil(t, pr)
	require.EqualValues(t, 0x97, pr.ReasonCode)
	require.EqualValues(t, 1, tb.srv.Stats().InflightRefused)

	p3, err := dial3(t, tb.addr, "full-pub3", "guest", "guest", true, nil)
	require.NoError(t, err)
	tok := p3.Publish("full/t", 1, false, "4")
	tok.Wait()
	eventually(t, func() bool { return !p3.IsConnectionOpen() })
	require.EqualValues(t, 2, tb.srv.Stats().InflightRefused)

	in := &inbox{}
	_, err = dial3(t, tb.addr, "full-sub", "guest", "guest", false, in.on3)
	require.NoError(t, err)
	got := in.wait3(t, 2)
	// mochi resends in-flight messages created in the same second in no
	// particular order.
	require.ElementsMatch(t, []string{"1", "2"}, []string{string(got[0].Payload()), string(got[1].Payload())})
}

// TestClientIDRules checks the client identifier rules of MQTT 3.1 and
// 3.1.1: identifier rejected (0x02) for an empty id without clean session
// [MQTT-3.1.3-8] and, in 3.1, for ids longer than 23 characters.
func TestClientIDRules(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	dial := func(version uint, id string, clean bool) error {
		o := paho3.NewClientOptions().AddBroker("tcp://" + tb.addr).SetClientID(id).
			SetUsername("guest").SetPassword("guest").SetCleanSession(clean).
			SetProtocolVersion(version).SetAutoReconnect(false).SetConnectRetry(false)
		c := paho3.NewClient(o)
		tok := c.Connect()
		tok.Wait()
		if tok.Error() == nil {
			c.Disconnect(0)
		}
		return tok.Error()
	}
	long := strings.Repeat("x", 30)
	require.NoError(t, dial(4, "", true))
	require.NoError(t, dial(4, long, true)) // 3.1.1 may allow more than 23
	require.ErrorIs(t, dial(4, "", false), packets3.ErrorRefusedIDRejected)
	require.NoError(t, dial(3, "short-id", true))
	require.ErrorIs(t, dial(3, long, true), packets3.ErrorRefusedIDRejected)
}

// TestInflightFullWaitsForOnlineSubscriber checks that a connected
// subscriber whose in-flight window is full holds the publisher back until
// it acknowledges, instead of getting the publish refused (which closes a
// 3.1.1 publisher's connection): every message arrives, none is refused.
func TestInflightFullWaitsForOnlineSubscriber(t *testing.T) {
	tb := startBroker(t, mqtt.Config{MaxInflight: 3})
	var mu sync.Mutex
	var unacked []paho3.Message
	got := 0
	o := paho3.NewClientOptions().AddBroker("tcp://" + tb.addr).SetClientID("slow-sub").
		SetUsername("guest").SetPassword("guest").SetCleanSession(true).
		SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4).
		SetAutoAckDisabled(true).
		SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
			mu.Lock()
			unacked = append(unacked, m)
			got++
			mu.Unlock()
		})
	sub := paho3.NewClient(o)
	wait(t, sub.Connect())
	t.Cleanup(func() { sub.Disconnect(0) })
	wait(t, sub.Subscribe("slow/t", 1, nil))

	// The subscriber acknowledges one message every 20 ms.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			mu.Lock()
			if len(unacked) > 0 {
				unacked[0].Ack()
				unacked = unacked[1:]
			}
			mu.Unlock()
		}
	}()

	pub, err := dial3(t, tb.addr, "slow-pub", "guest", "guest", true, nil)
	require.NoError(t, err)
	const n = 12
	for i := 0; i < n; i++ {
		wait(t, pub.Publish("slow/t", 1, false, fmt.Sprintf("m%d", i)))
	}
	require.True(t, pub.IsConnectionOpen(), "the publisher was disconnected")
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return got == n })
	require.EqualValues(t, 0, tb.srv.Stats().InflightRefused)
	require.Positive(t, tb.srv.Stats().InflightWaits)
}
