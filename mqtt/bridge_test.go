package mqtt_test

import (
	"testing"

	paho5 "github.com/eclipse/paho.golang/paho"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/mqtt"
)

func TestMQTTToCore(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	q := tb.coreQueue("readings", "sensors.*.temp")
	c, _, err := dial5(t, tb.addr, guest5("dev1"), nil)
	require.NoError(t, err)
	exp := uint32(60)
	_, err = c.Publish(ctx10(t), &paho5.Publish{Topic: "sensors/dev1/temp", QoS: 1, Payload: []byte("21.5"),
		Properties: &paho5.PublishProperties{ContentType: "text/plain", CorrelationData: []byte("c-1"),
			ResponseTopic: "replies/dev1", MessageExpiry: &exp,
			User: paho5.UserProperties{{Key: "unit", Value: "C"}}}})
	require.NoError(t, err)
	// The PUBACK came after the core's confirm: the message is already there.
	d, ok := q.Get(true)
	require.True(t, ok)
	m := d.Msg
	require.Equal(t, "sensors.dev1.temp", m.RoutingKey)
	require.Equal(t, "21.5", string(m.Body))
	require.Equal(t, message.FaceMQTT, m.Origin)
	require.EqualValues(t, 2, m.Props.DeliveryMode)
	require.Equal(t, "text/plain", m.Props.ContentType)
	require.Equal(t, "c-1", m.Props.CorrelationID)
	require.Equal(t, "replies.dev1", m.Props.ReplyTo)
	require.Equal(t, "60000", m.Props.Expiration)
	v, ok := m.Props.Headers.Get("unit")
	require.True(t, ok)
	require.Equal(t, "C", v)
	require.NotNil(t, m.MQTT)
	require.Equal(t, "sensors/dev1/temp", m.MQTT.Topic)
	require.EqualValues(t, 1, m.MQTT.QoS)

	// QoS 0 is transient.
	_, err = c.Publish(ctx10(t), &paho5.Publish{Topic: "sensors/dev2/temp", QoS: 0, Payload: []byte("x")})
	require.NoError(t, err)
	m = get(t, q)
	require.EqualValues(t, 1, m.Props.DeliveryMode)
}

func TestCoreToMQTT(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	in5, in3 := &inbox{}, &inbox{}
	c5, _, err := dial5(t, tb.addr, guest5("cmd5"), in5)
	require.NoError(t, err)
	_, err = c5.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: "cmd/+/set", QoS: 2}}})
	require.NoError(t, err)
	c3, err := dial3(t, tb.addr, "cmd3", "guest", "guest", true, in3.on3)
	require.NoError(t, err)
	wait(t, c3.Subscribe("cmd/#", 1, nil))

	m := &message.Message{Exchange: "amq.topic", RoutingKey: "cmd.dev1.set", Body: []byte("on"), Origin: message.FaceAMQP}
	m.Props.Flags = message.FlagDeliveryMode | message.FlagContentType | message.FlagCorrelationID |
		message.FlagReplyTo | message.FlagHeaders | message.FlagExpiration
	m.Props.DeliveryMode = 2
	m.Props.ContentType = "application/json"
	m.Props.CorrelationID = "corr"
	m.Props.ReplyTo = "replies.app"
	m.Props.Expiration = "30000"
	m.Props.Headers = message.Table{{Key: "who", Value: "amqp"}, {Key: "n", Value: int32(7)}}
	routed, err := tb.vhost().Publish(m, nil)
	require.NoError(t, err)
	require.True(t, routed)

	got := in5.wait5(t, 1)[0]
	require.Equal(t, "cmd/dev1/set", got.Topic)
	require.Equal(t, "on", string(got.Payload))
	require.EqualValues(t, 1, got.QoS) // persistent → QoS 1
	require.False(t, got.Retain)
	p := got.Properties
	require.Equal(t, "application/json", p.ContentType)
	require.Equal(t, []byte("corr"), p.CorrelationData)
	require.Equal(t, "replies/app", p.ResponseTopic)
	require.NotNil(t, p.MessageExpiry)
	require.LessOrEqual(t, *p.MessageExpiry, uint32(30))
	require.Equal(t, "amqp", p.User.Get("who"))
	require.Equal(t, "7", p.User.Get("n"))

	got3 := in3.wait3(t, 1)[0]
	require.Equal(t, "cmd/dev1/set", got3.Topic())
	require.EqualValues(t, 1, got3.Qos())

	// Transient → QoS 0.
	m2 := &message.Message{Exchange: "amq.topic", RoutingKey: "cmd.dev2.set", Body: []byte("off"), Origin: message.FaceAMQP}
	_, err = tb.vhost().Publish(m2, nil)
	require.NoError(t, err)
	got3 = in3.wait3(t, 2)[1]
	require.Equal(t, "cmd/dev2/set", got3.Topic())
	require.EqualValues(t, 0, got3.Qos())
}

// An MQTT publish reaches MQTT subscribers once (from mochi), not a second
// time through the bridge.
func TestNoDoubleDelivery(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	in := &inbox{}
	sub, _, err := dial5(t, tb.addr, guest5("s"), in)
	require.NoError(t, err)
	_, err = sub.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: "a/#", QoS: 1}}})
	require.NoError(t, err)
	pub, _, err := dial5(t, tb.addr, guest5("p"), nil)
	require.NoError(t, err)
	_, err = pub.Publish(ctx10(t), &paho5.Publish{Topic: "a/b", QoS: 1, Payload: []byte("1")})
	require.NoError(t, err)
	// A marker from the core, published after: once it arrives, a duplicate
	// of the first message would have arrived before it.
	_, err = tb.vhost().Publish(&message.Message{Exchange: "amq.topic", RoutingKey: "a.marker", Origin: message.FaceAMQP}, nil)
	require.NoError(t, err)
	// A duplicate through the bridge would be queued before the marker.
	eventually(t, func() bool { return count(in, "a/marker") == 1 && count(in, "a/b") >= 1 })
	require.Equal(t, 1, count(in, "a/b"))
}

func count(in *inbox, topic string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, m := range in.msgs {
		if m.Topic == topic {
			n++
		}
	}
	return n
}

func TestWillReachesCore(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	q := tb.coreQueue("wills", "status.#")
	cp := guest5("dying")
	cp.WillMessage = &paho5.WillMessage{Topic: "status/dying", QoS: 1, Payload: []byte("gone")}
	c, _, err := dial5(t, tb.addr, cp, nil)
	require.NoError(t, err)
	// Disconnect with reason 0x04: "disconnect with will message".
	require.NoError(t, c.Disconnect(&paho5.Disconnect{ReasonCode: 0x04}))
	m := get(t, q)
	require.Equal(t, "status.dying", m.RoutingKey)
	require.Equal(t, "gone", string(m.Body))
	require.Equal(t, message.FaceMQTT, m.Origin)
}
