package mqtt_test

import (
	"fmt"
	"net"
	"testing"

	paho5 "github.com/eclipse/paho.golang/paho"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

func u32(v uint32) *uint32 { return &v }
func u16(v uint16) *uint16 { return &v }

// sub5 connects an MQTT 5 client collecting into a new inbox and subscribes.
func sub5(t *testing.T, tb *testBroker, id string, opts ...paho5.SubscribeOptions) (*paho5.Client, *inbox) {
	t.Helper()
	in := &inbox{}
	c, _, err := dial5(t, tb.addr, guest5(id), in)
	require.NoError(t, err)
	if len(opts) > 0 {
		_, err = c.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: opts})
		require.NoError(t, err)
	}
	return c, in
}

// pub5 connects an MQTT 5 publisher.
func pub5(t *testing.T, tb *testBroker, id string) *paho5.Client {
	t.Helper()
	c, _, err := dial5(t, tb.addr, guest5(id), nil)
	require.NoError(t, err)
	return c
}

func publish5(t *testing.T, c *paho5.Client, p *paho5.Publish) {
	t.Helper()
	_, err := c.Publish(ctx10(t), p)
	require.NoError(t, err)
}

// marker publishes a QoS 1 marker on topic and waits until in has n
// messages: everything published before it has then been delivered.
func marker(t *testing.T, c *paho5.Client, topic string, in *inbox, n int) []*paho5.Publish {
	t.Helper()
	publish5(t, c, &paho5.Publish{Topic: topic, QoS: 1, Payload: []byte("marker")})
	got := in.wait5(t, n)
	require.Equal(t, "marker", string(got[len(got)-1].Payload), "a message arrived after the marker")
	return got
}

func TestSharedSubscriptionRoundRobin(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	_, a := sub5(t, tb, "sh-a", paho5.SubscribeOptions{Topic: "$share/g/sh/t", QoS: 1})
	_, b := sub5(t, tb, "sh-b", paho5.SubscribeOptions{Topic: "$share/g/sh/t", QoS: 1})
	pub := pub5(t, tb, "sh-pub")
	for i := range 10 {
		publish5(t, pub, &paho5.Publish{Topic: "sh/t", QoS: 1, Payload: []byte(fmt.Sprint(i))})
	}
	eventually(t, func() bool { return a.len()+b.len() == 10 })
	require.Equal(t, 5, a.len())
	require.Equal(t, 5, b.len())
}

func TestNoLocal(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	c, in := sub5(t, tb, "nl", paho5.SubscribeOptions{Topic: "nl/t", QoS: 1, NoLocal: true})
	publish5(t, c, &paho5.Publish{Topic: "nl/t", QoS: 1, Payload: []byte("own")})
	other := pub5(t, tb, "nl-other")
	got := marker(t, other, "nl/t", in, 1)
	require.Len(t, got, 1) // the own message was not delivered [MQTT-3.8.3-3]
}

func TestRetainAsPublished(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	_, rap := sub5(t, tb, "rap", paho5.SubscribeOptions{Topic: "rap/t", QoS: 1, RetainAsPublished: true})
	_, plain := sub5(t, tb, "rap-plain", paho5.SubscribeOptions{Topic: "rap/t", QoS: 1})
	pub := pub5(t, tb, "rap-pub")
	publish5(t, pub, &paho5.Publish{Topic: "rap/t", QoS: 1, Retain: true, Payload: []byte("r")})
	require.True(t, rap.wait5(t, 1)[0].Retain) // [MQTT-3.3.1-13]
	// [MQTT-3.3.1-12]. mochi sends retained messages after the SUBACK and
	// after OnSubscribed (which binds the bridge key, a store write): a
	// publish right after the SUBACK may also reach plain as a retained
	// copy (retain set). The live copy must have retain cleared.
	eventually(t, func() bool {
		plain.mu.Lock()
		defer plain.mu.Unlock()
		for _, m := range plain.msgs {
			if !m.Retain {
				return true
			}
		}
		return false
	})
	publish5(t, pub, &paho5.Publish{Topic: "rap/t", QoS: 1, Retain: true}) // clear
}

func TestRetainHandling(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	pub := pub5(t, tb, "rh-pub")
	publish5(t, pub, &paho5.Publish{Topic: "rh/t", QoS: 1, Retain: true, Payload: []byte("kept")})
	for _, tc := range []struct {
		handling byte
		first    int // retained messages on the first subscribe
		again    int // and on subscribing again to the same filter
	}{{0, 1, 1}, {1, 1, 0}, {2, 0, 0}} {
		t.Run(fmt.Sprint(tc.handling), func(t *testing.T) {
			c, in := sub5(t, tb, fmt.Sprintf("rh-%d", tc.handling))
			opt := paho5.SubscribeOptions{Topic: "rh/t", QoS: 1, RetainHandling: tc.handling}
			_, err := c.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{opt}})
			require.NoError(t, err)
			// Retained messages follow the SUBACK unordered against other
			// publishers: wait for the expected ones before the marker.
			in.wait5(t, tc.first)
			require.Len(t, marker(t, pub, "rh/t", in, tc.first+1), tc.first+1)
			_, err = c.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{opt}})
			require.NoError(t, err)
			in.wait5(t, tc.first+1+tc.again)
			n := tc.first + 1 + tc.again + 1
			require.Len(t, marker(t, pub, "rh/t", in, n), n)
		})
	}
}

func TestSubscriptionIdentifiers(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	in := &inbox{}
	c, _, err := dial5(t, tb.addr, guest5("sid"), in)
	require.NoError(t, err)
	for id, filter := range map[int]string{7: "sid/+", 9: "sid/#"} {
		_, err = c.Subscribe(ctx10(t), &paho5.Subscribe{
			Properties:    &paho5.SubscribeProperties{SubscriptionIdentifier: &id},
			Subscriptions: []paho5.SubscribeOptions{{Topic: filter, QoS: 1}}})
		require.NoError(t, err)
	}
	publish5(t, pub5(t, tb, "sid-pub"), &paho5.Publish{Topic: "sid/x", QoS: 1, Payload: []byte("x")})
	got := in.wait5(t, 1)
	// Both subscriptions match: one copy carries both identifiers
	// [MQTT-3.3.4-3] (paho exposes the first).
	require.NotNil(t, got[0].Properties.SubscriptionIdentifier)
	require.Contains(t, []int{7, 9}, *got[0].Properties.SubscriptionIdentifier)
}

func TestRequestResponseProperties(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	_, in := sub5(t, tb, "rr", paho5.SubscribeOptions{Topic: "rr/req", QoS: 1})
	publish5(t, pub5(t, tb, "rr-pub"), &paho5.Publish{Topic: "rr/req", QoS: 1, Payload: []byte("q"),
		Properties: &paho5.PublishProperties{ResponseTopic: "rr/resp", CorrelationData: []byte{1, 2, 3},
			User: paho5.UserProperties{{Key: "k", Value: "v"}}}})
	got := in.wait5(t, 1)[0]
	require.Equal(t, "rr/resp", got.Properties.ResponseTopic)
	require.Equal(t, []byte{1, 2, 3}, got.Properties.CorrelationData)
	require.Equal(t, "v", got.Properties.User.Get("k"))
}

func TestTopicAliases(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	// The subscriber accepts aliases; the server sends full topic names.
	in := &inbox{}
	cp := guest5("ta-sub")
	cp.Properties = &paho5.ConnectProperties{TopicAliasMaximum: u16(10)}
	sub, _, err := dial5(t, tb.addr, cp, in)
	require.NoError(t, err)
	_, err = sub.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: "ta/t", QoS: 1}}})
	require.NoError(t, err)
	pub := pub5(t, tb, "ta-pub")
	publish5(t, pub, &paho5.Publish{Topic: "ta/t", QoS: 1, Payload: []byte("1"),
		Properties: &paho5.PublishProperties{TopicAlias: u16(1)}})
	publish5(t, pub, &paho5.Publish{QoS: 1, Payload: []byte("2"), // alias only [MQTT-3.3.2-12]
		Properties: &paho5.PublishProperties{TopicAlias: u16(1)}})
	got := in.wait5(t, 2)
	for _, m := range got {
		require.Equal(t, "ta/t", m.Topic)
		require.Nil(t, m.Properties.TopicAlias)
	}
}

func TestMessageExpiry(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	pub := pub5(t, tb, "me-pub")
	// A live message carries its (remaining) expiry interval [MQTT-3.3.2-6].
	_, in := sub5(t, tb, "me-sub", paho5.SubscribeOptions{Topic: "me/live", QoS: 1})
	publish5(t, pub, &paho5.Publish{Topic: "me/live", QoS: 1, Payload: []byte("l"),
		Properties: &paho5.PublishProperties{MessageExpiry: u32(60)}})
	got := in.wait5(t, 1)[0]
	require.NotNil(t, got.Properties.MessageExpiry)
	require.LessOrEqual(t, *got.Properties.MessageExpiry, uint32(60))

	// A retained message with an expiry is dropped once it expires, also
	// after a restart.
	publish5(t, pub, &paho5.Publish{Topic: "me/r", QoS: 1, Retain: true, Payload: []byte("r"),
		Properties: &paho5.PublishProperties{MessageExpiry: u32(2)}})
	tb.restart()
	eventually(t, func() bool { return retainedCount(tb) == 0 })
	_, in = sub5(t, tb, "me-sub2", paho5.SubscribeOptions{Topic: "me/r", QoS: 1})
	require.Len(t, marker(t, pub5(t, tb, "me-pub2"), "me/r", in, 1), 1)
}

func retainedCount(tb *testBroker) int {
	n := 0
	_ = tb.st.States("mqtt/retained", func(string, []byte) error { n++; return nil })
	return n
}

func TestWillDelay(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	_, in := sub5(t, tb, "wd-sub", paho5.SubscribeOptions{Topic: "wd/will", QoS: 1})
	nc, err := net.Dial("tcp", tb.addr)
	require.NoError(t, err)
	c := paho5.NewClient(paho5.ClientConfig{ClientID: "wd", Conn: nc})
	cp := guest5("wd")
	cp.KeepAlive = 30
	cp.Properties = &paho5.ConnectProperties{SessionExpiryInterval: u32(60)}
	cp.WillMessage = &paho5.WillMessage{Topic: "wd/will", QoS: 1, Payload: []byte("gone")}
	cp.WillProperties = &paho5.WillProperties{WillDelayInterval: u32(1)}
	_, err = c.Connect(ctx10(t), cp)
	require.NoError(t, err)
	nc.Close() // no DISCONNECT: the will is due after its delay [MQTT-3.1.3-9]
	got := in.wait5(t, 1)
	require.Equal(t, "gone", string(got[0].Payload))
}

func TestSessionExpiry(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	cp := guest5("se")
	cp.CleanStart = false
	cp.Properties = &paho5.ConnectProperties{SessionExpiryInterval: u32(1)}
	c, ca, err := dial5(t, tb.addr, cp, nil)
	require.NoError(t, err)
	require.False(t, ca.SessionPresent)
	_, err = c.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: "se/t", QoS: 1}}})
	require.NoError(t, err)
	require.NoError(t, c.Disconnect(&paho5.Disconnect{}))
	eventually(t, func() bool { return sessionStored(tb, "se") })
	// The session and its record go once it expires [MQTT-4.1.0-2].
	eventually(t, func() bool { return !sessionStored(tb, "se") && !tb.srv.HasSession("se") })
	cp = guest5("se")
	cp.CleanStart = false
	_, ca, err = dial5(t, tb.addr, cp, nil)
	require.NoError(t, err)
	require.False(t, ca.SessionPresent)
}

func sessionStored(tb *testBroker, id string) bool {
	found := false
	_ = tb.st.States("mqtt/session", func(k string, _ []byte) error {
		found = found || k == id
		return nil
	})
	return found
}

// TestPubackReasonCode checks that a QoS 1 publish is acknowledged with
// 0x00 (mochi sends the granted-QoS code 0x01, no PUBACK reason code).
func TestPubackReasonCode(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	pr, err := pub5(t, tb, "prc").Publish(ctx10(t), &paho5.Publish{Topic: "prc/t", QoS: 1, Payload: []byte("x")})
	require.NoError(t, err)
	require.EqualValues(t, 0, pr.ReasonCode)
}
