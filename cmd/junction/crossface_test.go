package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	paho "github.com/eclipse/paho.mqtt.golang"
	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/config"
)

// broker is the whole binary's wiring (startBroker) in the test process,
// with AMQP, MQTT and the AWS gateway on 127.0.0.1:0.
type broker struct {
	amqpURL, mqttAddr, awsURL string
}

// serveWired runs the binary's wiring (startBroker) with cfg in the test
// process, the named listeners on 127.0.0.1:0, until the test ends.
func serveWired(t *testing.T, cfg *config.Config, names ...string) map[string]net.Listener {
	t.Helper()
	listeners := map[string]net.Listener{}
	for _, name := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		listeners[name] = ln
	}
	stop, err := startBroker(context.Background(), cfg, listeners)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, stop(ctx))
	})
	return listeners
}

func startTestBroker(t *testing.T) *broker {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	listeners := serveWired(t, cfg, config.AMQP, config.MQTT, config.AWS)
	return &broker{
		amqpURL:  "amqp://guest:guest@" + listeners[config.AMQP].Addr().String() + "/",
		mqttAddr: "tcp://" + listeners[config.MQTT].Addr().String(),
		awsURL:   "http://" + listeners[config.AWS].Addr().String(),
	}
}

func (b *broker) amqp(t *testing.T) *rmq.Channel {
	t.Helper()
	c, err := rmq.Dial(b.amqpURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ch, err := c.Channel()
	require.NoError(t, err)
	return ch
}

func (b *broker) mqtt(t *testing.T, id string) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(b.mqttAddr).SetClientID(id).SetUsername("guest").SetPassword("guest")
	c := paho.NewClient(o)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func (b *broker) sqs(t *testing.T) *sqs.Client {
	t.Helper()
	return sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.awsURL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

func (b *broker) queueURL(name string) *string {
	return aws.String(b.awsURL + "/000000000000/" + name)
}

// receiveOne long-polls an SQS queue for one message with every attribute.
func receiveOne(t *testing.T, c *sqs.Client, url *string) sqstypes.Message {
	t.Helper()
	for i := 0; i < 10; i++ {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: url,
			WaitTimeSeconds: 2, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}})
		require.NoError(t, err)
		if len(out.Messages) > 0 {
			return out.Messages[0]
		}
	}
	t.Fatal("no SQS message")
	return sqstypes.Message{}
}

// getOne polls an AMQP queue with basic.get.
func getOne(t *testing.T, ch *rmq.Channel, queue string) rmq.Delivery {
	t.Helper()
	var d rmq.Delivery
	require.Eventually(t, func() bool {
		var ok bool
		var err error
		d, ok, err = ch.Get(queue, true)
		require.NoError(t, err)
		return ok
	}, 10*time.Second, 10*time.Millisecond)
	return d
}

// TestRoundTripAMQPToMQTTAndSQS: one AMQP publish to amq.topic reaches an
// MQTT subscriber (QoS 1 for a persistent message, topic mapped) and an SQS
// receiver (headers as message attributes), as docs/message-mapping.md says.
func TestRoundTripAMQPToMQTTAndSQS(t *testing.T) {
	b := startTestBroker(t)
	ch := b.amqp(t)
	_, err := ch.QueueDeclare("readings", true, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind("readings", "plant.#", "amq.topic", false, nil))

	got := make(chan paho.Message, 1)
	m := b.mqtt(t, "sub1")
	tok := m.Subscribe("plant/+/temp", 1, func(_ paho.Client, msg paho.Message) { got <- msg })
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())

	require.NoError(t, ch.PublishWithContext(context.Background(), "amq.topic", "plant.a.temp", false, false, rmq.Publishing{
		DeliveryMode: rmq.Persistent, ContentType: "text/plain", Body: []byte("42"),
		Headers: rmq.Table{"unit": "C", "line": int32(7)},
	}))
	select {
	case msg := <-got:
		require.Equal(t, "plant/a/temp", msg.Topic())
		require.Equal(t, byte(1), msg.Qos())
		require.Equal(t, "42", string(msg.Payload()))
	case <-time.After(10 * time.Second):
		t.Fatal("MQTT subscriber got nothing")
	}
	sm := receiveOne(t, b.sqs(t), b.queueURL("readings"))
	require.Equal(t, "42", *sm.Body)
	require.Equal(t, "C", *sm.MessageAttributes["unit"].StringValue)
	require.Equal(t, "String", *sm.MessageAttributes["unit"].DataType)
	require.Equal(t, "7", *sm.MessageAttributes["line"].StringValue)
	require.Equal(t, "Number", *sm.MessageAttributes["line"].DataType)
}

// TestRoundTripMQTTToAMQPAndSQS: an MQTT QoS 1 publish lands, key mapped,
// in a queue bound to amq.topic, persistent, read by AMQP and by SQS.
func TestRoundTripMQTTToAMQPAndSQS(t *testing.T) {
	b := startTestBroker(t)
	ch := b.amqp(t)
	for _, q := range []string{"to-amqp", "to-sqs"} {
		_, err := ch.QueueDeclare(q, true, false, false, false, nil)
		require.NoError(t, err)
		require.NoError(t, ch.QueueBind(q, "home.*.temp", "amq.topic", false, nil))
	}
	m := b.mqtt(t, "pub1")
	tok := m.Publish("home/kitchen/temp", 1, false, "21.5")
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())

	d := getOne(t, ch, "to-amqp")
	require.Equal(t, "21.5", string(d.Body))
	require.Equal(t, "home.kitchen.temp", d.RoutingKey)
	require.Equal(t, "amq.topic", d.Exchange)
	require.Equal(t, rmq.Persistent, d.DeliveryMode)

	sm := receiveOne(t, b.sqs(t), b.queueURL("to-sqs"))
	require.Equal(t, "21.5", *sm.Body)
}

// TestRoundTripSQSToAMQP: an SQS send with attributes reaches an AMQP
// consumer as a persistent message, its attributes as headers (String and
// Number as long strings, Binary as a byte array).
func TestRoundTripSQSToAMQP(t *testing.T) {
	b := startTestBroker(t)
	ch := b.amqp(t)
	_, err := ch.QueueDeclare("orders", true, false, false, false, nil)
	require.NoError(t, err)
	c := b.sqs(t)
	_, err = c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: b.queueURL("orders"),
		MessageBody: aws.String("order-1"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"region": {DataType: aws.String("String"), StringValue: aws.String("eu")},
			"qty":    {DataType: aws.String("Number.int"), StringValue: aws.String("3")},
			"blob":   {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		}})
	require.NoError(t, err)
	d := getOne(t, ch, "orders")
	require.Equal(t, "order-1", string(d.Body))
	require.Equal(t, rmq.Persistent, d.DeliveryMode)
	require.Equal(t, "eu", d.Headers["region"])
	require.Equal(t, "3", d.Headers["qty"])
	require.Equal(t, []byte{0, 1, 2}, d.Headers["blob"])
	require.NotEmpty(t, d.MessageId)
}

// TestRoundTripBinaryAMQPToSQS: a body SQS cannot carry as text arrives
// base64-encoded, with the attribute that says so.
func TestRoundTripBinaryAMQPToSQS(t *testing.T) {
	b := startTestBroker(t)
	ch := b.amqp(t)
	_, err := ch.QueueDeclare("bin", true, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.PublishWithContext(context.Background(), "", "bin", false, false,
		rmq.Publishing{Body: []byte{0xff, 0x00, 0xfe}}))
	sm := receiveOne(t, b.sqs(t), b.queueURL("bin"))
	require.Equal(t, "/wD+", *sm.Body)
	require.Equal(t, "base64", *sm.MessageAttributes["junction.body-encoding"].StringValue)
}
