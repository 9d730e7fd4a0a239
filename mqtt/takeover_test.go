package mqtt_test

import (
	"sync"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

// unacking connects a persistent-session client that never acknowledges
// what it receives, and returns the payloads it got.
func unacking(t *testing.T, addr, id string) (paho3.Client, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	o := paho3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetUsername("guest").SetPassword("guest").SetCleanSession(false).
		SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4).
		SetAutoAckDisabled(true).SetConnectTimeout(5 * time.Second).
		SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
			mu.Lock()
			got = append(got, string(m.Payload()))
			mu.Unlock()
		})
	c := paho3.NewClient(o)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	return c, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// A persistent session taken over by a new connection keeps its
// in-flight messages across a restart: mochi drops them from the old
// connection after copying them to the new one, and that drop used to
// delete their stored records.
func TestTakeoverKeepsInflightAcrossRestart(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	dev1, got1 := unacking(t, tb.addr, "dev")
	wait(t, dev1.Subscribe("k/#", 1, nil))
	pub, err := dial3(t, tb.addr, "kpub", "guest", "guest", true, nil)
	require.NoError(t, err)
	wait(t, pub.Publish("k/1", 1, false, "one"))
	eventually(t, func() bool { return len(got1()) == 1 })

	// The same client id connects again: the session is taken over and
	// the unacknowledged message resent to the new connection.
	dev2, got2 := unacking(t, tb.addr, "dev")
	eventually(t, func() bool { return len(got2()) == 1 })
	require.Equal(t, []string{"one"}, got2())
	dev2.Disconnect(0)
	dev1.Disconnect(0)
	pub.Disconnect(0)

	tb.restart()

	in := &inbox{}
	_, err = dial3(t, tb.addr, "dev", "guest", "guest", false, in.on3)
	require.NoError(t, err)
	msgs := in.wait3(t, 1)
	require.Equal(t, "one", string(msgs[0].Payload()))
}
