package mqtt_test

import (
	"fmt"
	"testing"

	paho5 "github.com/eclipse/paho.golang/paho"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

func TestPubSubQoS(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	for _, qos := range []byte{0, 1, 2} {
		t.Run(fmt.Sprintf("v3-qos%d", qos), func(t *testing.T) {
			in := &inbox{}
			sub, err := dial3(t, tb.addr, fmt.Sprintf("sub3-%d", qos), "guest", "guest", true, in.on3)
			require.NoError(t, err)
			topic := fmt.Sprintf("v3/q%d", qos)
			wait(t, sub.Subscribe(topic, qos, nil))
			pub, err := dial3(t, tb.addr, fmt.Sprintf("pub3-%d", qos), "guest", "guest", true, nil)
			require.NoError(t, err)
			wait(t, pub.Publish(topic, qos, false, "hello"))
			got := in.wait3(t, 1)
			require.Equal(t, "hello", string(got[0].Payload()))
			require.Equal(t, qos, got[0].Qos())
		})
		t.Run(fmt.Sprintf("v5-qos%d", qos), func(t *testing.T) {
			in := &inbox{}
			sub, _, err := dial5(t, tb.addr, guest5(fmt.Sprintf("sub5-%d", qos)), in)
			require.NoError(t, err)
			topic := fmt.Sprintf("v5/q%d", qos)
			_, err = sub.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: topic, QoS: qos}}})
			require.NoError(t, err)
			pub, _, err := dial5(t, tb.addr, guest5(fmt.Sprintf("pub5-%d", qos)), nil)
			require.NoError(t, err)
			_, err = pub.Publish(ctx10(t), &paho5.Publish{Topic: topic, QoS: qos, Payload: []byte("hi"),
				Properties: &paho5.PublishProperties{ContentType: "text/plain"}})
			require.NoError(t, err)
			got := in.wait5(t, 1)
			require.Equal(t, "hi", string(got[0].Payload))
			require.Equal(t, qos, got[0].QoS)
			require.Equal(t, "text/plain", got[0].Properties.ContentType)
		})
	}
}

func TestConnackCapabilities(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	_, ca, err := dial5(t, tb.addr, guest5("caps"), nil)
	require.NoError(t, err)
	p := ca.Properties
	require.NotNil(t, p)
	require.True(t, p.RetainAvailable)
	require.True(t, p.WildcardSubAvailable)
	require.True(t, p.SubIDAvailable)
	require.True(t, p.SharedSubAvailable)
	require.NotNil(t, p.TopicAliasMaximum)
	require.EqualValues(t, 64, *p.TopicAliasMaximum)
	require.NotNil(t, p.MaximumPacketSize)
	require.EqualValues(t, 16<<20, *p.MaximumPacketSize)
}
