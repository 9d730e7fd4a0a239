package metrics_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/awsgw"
	"github.com/junctionmq/junction/metrics"
	"github.com/junctionmq/junction/mqtt"
)

// stack is a core with the AMQP, MQTT and AWS faces and the metrics
// endpoint, each on 127.0.0.1:0.
type stack struct {
	amqpURL, mqttAddr, awsURL, metricsURL string
}

func startStack(t *testing.T, mcfg mqtt.Config) *stack {
	t.Helper()
	b, st := openCore(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	as := amqp.NewServer(amqp.NewCoreBroker(b), amqp.Config{})
	ms, err := mqtt.New(b, mcfg, log)
	require.NoError(t, err)
	gw, err := awsgw.New(b, awsgw.Config{AcceptAnyKey: true}, log)
	require.NoError(t, err)
	ps := metrics.New(metrics.Sources{Broker: b, AMQP: as, MQTT: ms, AWS: gw, Store: st})
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		return ln
	}
	aln, mln, gln, pln := listen(), listen(), listen(), listen()
	go as.Serve(aln)
	go ms.Serve(mln)
	go gw.Serve(gln)
	go ps.Serve(pln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ps.Shutdown(ctx)
		_ = gw.Shutdown(ctx)
		_ = ms.Shutdown(ctx)
		_ = as.Close(ctx)
		_ = b.Close()
		_ = st.Close()
	})
	return &stack{amqpURL: "amqp://guest:guest@" + aln.Addr().String() + "/", mqttAddr: mln.Addr().String(),
		awsURL: "http://" + gln.Addr().String(), metricsURL: "http://" + pln.Addr().String() + "/metrics"}
}

// count reads a per-face counter: delivered, acked, or dropped with reason.
func (s *stack) count(t *testing.T, kind, face, reason string) float64 {
	t.Helper()
	labels := map[string]string{"face": face}
	if reason != "" {
		labels["reason"] = reason
	}
	return value(scrape(t, s.metricsURL), "junction_face_messages_"+kind+"_total", labels)
}

// await polls the counter until it equals want (30 s at most).
func (s *stack) await(t *testing.T, want float64, kind, face, reason string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := s.count(t, kind, face, reason)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("junction_face_messages_%s_total{face=%q,reason=%q} = %v, want %v", kind, face, reason, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *stack) amqpChannel(t *testing.T) *amqp091.Channel {
	t.Helper()
	c, err := amqp091.Dial(s.amqpURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ch, err := c.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.Confirm(false))
	return ch
}

// publish publishes a transient message to exchange/key and waits for its
// confirm.
func publish(t *testing.T, ch *amqp091.Channel, exchange, key string, mandatory bool) bool {
	t.Helper()
	return publishMsg(t, ch, exchange, key, mandatory, amqp091.Publishing{Body: []byte("x")})
}

func publishMsg(t *testing.T, ch *amqp091.Channel, exchange, key string, mandatory bool, p amqp091.Publishing) bool {
	t.Helper()
	dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), exchange, key, mandatory, false, p)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := dc.WaitContext(ctx)
	require.NoError(t, err)
	return ack
}

func (s *stack) awsConfig() aws.Config {
	return aws.Config{Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}

func (s *stack) sqs() *sqs.Client {
	return sqs.NewFromConfig(s.awsConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(s.awsURL) })
}

func (s *stack) sns() *sns.Client {
	return sns.NewFromConfig(s.awsConfig(), func(o *sns.Options) { o.BaseEndpoint = aws.String(s.awsURL) })
}

func (s *stack) kinesis() *kinesis.Client {
	return kinesis.NewFromConfig(s.awsConfig(), func(o *kinesis.Options) { o.BaseEndpoint = aws.String(s.awsURL) })
}

func (s *stack) mqtt3(t *testing.T, id string, clean bool, onMsg paho3.MessageHandler) paho3.Client {
	t.Helper()
	o := paho3.NewClientOptions().AddBroker("tcp://" + s.mqttAddr).SetClientID(id).
		SetUsername("guest").SetPassword("guest").SetCleanSession(clean).SetAutoReconnect(false).
		SetDefaultPublishHandler(onMsg)
	c := paho3.NewClient(o)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func wait3(t *testing.T, tok paho3.Token) {
	t.Helper()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
}

func (s *stack) mqtt5(t *testing.T, cp *paho5.Connect) *paho5.Client {
	t.Helper()
	nc, err := net.Dial("tcp", s.mqttAddr)
	require.NoError(t, err)
	c := paho5.NewClient(paho5.ClientConfig{ClientID: cp.ClientID, Conn: nc})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cp.Username, cp.UsernameFlag, cp.Password, cp.PasswordFlag, cp.KeepAlive = "guest", true, []byte("guest"), true, 30
	_, err = c.Connect(ctx, cp)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Disconnect(&paho5.Disconnect{}) })
	return c
}

// TestFaceDelivered hands n messages to clients over each face and reads
// the per-face delivered (and acked) counters off /metrics.
func TestFaceDelivered(t *testing.T) {
	s := startStack(t, mqtt.Config{})
	const n = 5
	for _, face := range []string{"amqp", "mqtt", "sqs", "sns", "kinesis"} {
		require.Zero(t, s.count(t, "delivered", face, ""), face)
		require.Zero(t, s.count(t, "acked", face, ""), face)
	}

	t.Run("amqp", func(t *testing.T) {
		ch := s.amqpChannel(t)
		_, err := ch.QueueDeclare("out.amqp", false, false, false, false, nil)
		require.NoError(t, err)
		for range n + 1 {
			publish(t, ch, "", "out.amqp", false)
		}
		d, ok, err := ch.Get("out.amqp", false) // basic.get-ok
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, d.Ack(false))
		ds, err := ch.Consume("out.amqp", "", false, false, false, false, nil) // basic.deliver
		require.NoError(t, err)
		for range n {
			select {
			case d := <-ds:
				require.NoError(t, d.Ack(false))
			case <-time.After(10 * time.Second):
				t.Fatal("no delivery")
			}
		}
		s.await(t, n+1, "delivered", "amqp", "")
		s.await(t, n+1, "acked", "amqp", "")
	})

	t.Run("mqtt", func(t *testing.T) {
		got := make(chan struct{}, n)
		sub := s.mqtt3(t, "out-sub", true, func(paho3.Client, paho3.Message) { got <- struct{}{} })
		wait3(t, sub.Subscribe("out/mqtt", 1, nil))
		pub := s.mqtt3(t, "out-pub", true, nil)
		for range n {
			wait3(t, pub.Publish("out/mqtt", 1, false, "x"))
		}
		for range n {
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("no message")
			}
		}
		s.await(t, n, "delivered", "mqtt", "")
	})

	t.Run("sqs", func(t *testing.T) {
		c := s.sqs()
		q, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("out-sqs")})
		require.NoError(t, err)
		for i := range n {
			_, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: q.QueueUrl,
				MessageBody: aws.String(fmt.Sprint(i))})
			require.NoError(t, err)
		}
		for received := 0; received < n; {
			out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl,
				MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			require.NoError(t, err)
			for _, m := range out.Messages {
				_, err := c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl,
					ReceiptHandle: m.ReceiptHandle})
				require.NoError(t, err)
			}
			received += len(out.Messages)
		}
		s.await(t, n, "delivered", "sqs", "")
		s.await(t, n, "acked", "sqs", "")
	})

	t.Run("kinesis", func(t *testing.T) {
		c := s.kinesis()
		_, err := c.CreateStream(context.Background(), &kinesis.CreateStreamInput{StreamName: aws.String("out-kin"),
			ShardCount: aws.Int32(1)})
		require.NoError(t, err)
		for i := range n {
			_, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("out-kin"),
				PartitionKey: aws.String("k"), Data: []byte(fmt.Sprint(i))})
			require.NoError(t, err)
		}
		it, err := c.GetShardIterator(context.Background(), &kinesis.GetShardIteratorInput{StreamName: aws.String("out-kin"),
			ShardId: aws.String("shardId-000000000000"), ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon})
		require.NoError(t, err)
		out, err := c.GetRecords(context.Background(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		require.NoError(t, err)
		require.Len(t, out.Records, n)
		s.await(t, n, "delivered", "kinesis", "")
	})

	// Each face counted only its own hand-outs.
	for face, want := range map[string]float64{"amqp": n + 1, "mqtt": n, "sqs": n, "kinesis": n, "sns": 0, "core": 0} {
		require.Equal(t, want, s.count(t, "delivered", face, ""), face)
	}
}

// TestFaceDropped causes each reason the broker drops a message for and
// reads its counter off /metrics.
func TestFaceDropped(t *testing.T) {
	s := startStack(t, mqtt.Config{MaxInflight: 2})
	ch := s.amqpChannel(t)
	declare := func(name string, args amqp091.Table) {
		t.Helper()
		_, err := ch.QueueDeclare(name, false, false, false, false, args)
		require.NoError(t, err)
	}

	t.Run("unroutable", func(t *testing.T) {
		for range 3 {
			publish(t, ch, "amq.direct", "nowhere", false)
		}
		returned := ch.NotifyReturn(make(chan amqp091.Return, 1))
		publish(t, ch, "amq.direct", "nowhere", true) // returned, not dropped
		select {
		case <-returned:
		case <-time.After(10 * time.Second):
			t.Fatal("mandatory publish not returned")
		}
		s.await(t, 3, "dropped", "amqp", "unroutable")

		c := s.sns()
		topic, err := c.CreateTopic(context.Background(), &sns.CreateTopicInput{Name: aws.String("nobody")})
		require.NoError(t, err)
		for range 2 {
			_, err := c.Publish(context.Background(), &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("x")})
			require.NoError(t, err)
		}
		s.await(t, 2, "dropped", "sns", "unroutable")
	})

	t.Run("expired", func(t *testing.T) {
		declare("ttl", amqp091.Table{"x-message-ttl": int32(1)})
		for range 4 {
			publish(t, ch, "", "ttl", false)
		}
		s.await(t, 4, "dropped", "amqp", "expired")

		// Dead-lettered on expiry: not dropped.
		declare("ttl.dst", nil)
		declare("ttl.dlx", amqp091.Table{"x-message-ttl": int32(1), "x-dead-letter-exchange": "",
			"x-dead-letter-routing-key": "ttl.dst"})
		for range 2 {
			publish(t, ch, "", "ttl.dlx", false)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			q, err := ch.QueueDeclarePassive("ttl.dst", false, false, false, false, nil)
			require.NoError(t, err)
			if q.Messages == 2 {
				break
			}
			require.True(t, time.Now().Before(deadline), "never dead-lettered")
			time.Sleep(20 * time.Millisecond)
		}
		require.Equal(t, float64(4), s.count(t, "dropped", "amqp", "expired"))
		require.Equal(t, float64(0), s.count(t, "dropped", "core", "unroutable"))
	})

	t.Run("maxlen", func(t *testing.T) {
		declare("short", amqp091.Table{"x-max-length": int32(1)}) // drop-head
		for range 4 {
			require.True(t, publish(t, ch, "", "short", false))
		}
		s.await(t, 3, "dropped", "amqp", "maxlen")
		declare("full", amqp091.Table{"x-max-length": int32(1), "x-overflow": "reject-publish"})
		require.True(t, publish(t, ch, "", "full", false))
		for range 2 {
			require.False(t, publish(t, ch, "", "full", false)) // nacked
		}
		s.await(t, 5, "dropped", "amqp", "maxlen")
	})

	t.Run("rejected", func(t *testing.T) {
		declare("rej", nil)
		for range 2 {
			publish(t, ch, "", "rej", false)
		}
		for range 2 {
			d, ok, err := ch.Get("rej", false)
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, d.Reject(false))
		}
		s.await(t, 2, "dropped", "amqp", "rejected")
	})

	t.Run("delivery_limit", func(t *testing.T) {
		declare("lim", amqp091.Table{"x-delivery-limit": int32(0)})
		publish(t, ch, "", "lim", false)
		d, ok, err := ch.Get("lim", false)
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, d.Nack(false, true)) // requeued past the limit
		s.await(t, 1, "dropped", "amqp", "delivery_limit")
	})

	t.Run("mqtt_slow_client", func(t *testing.T) {
		// An offline session with an in-flight window of 2: of 5 QoS 1
		// messages from another face, 3 find it full.
		sub := s.mqtt3(t, "slow", false, func(paho3.Client, paho3.Message) {})
		wait3(t, sub.Subscribe("slow/t", 1, nil))
		sub.Disconnect(0)
		for range 5 { // persistent: QoS 1 towards MQTT
			publishMsg(t, ch, "amq.topic", "slow.t", false, amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: []byte("x")})
		}
		s.await(t, 3, "dropped", "mqtt", "slow_client")
	})

	t.Run("mqtt_expired", func(t *testing.T) {
		// An offline MQTT 5 session holds two messages that expire after a
		// second; mochi drops them from its in-flight store.
		sub := s.mqtt5(t, &paho5.Connect{ClientID: "exp", CleanStart: true,
			Properties: &paho5.ConnectProperties{SessionExpiryInterval: aws.Uint32(3600)}})
		_, err := sub.Subscribe(context.Background(), &paho5.Subscribe{
			Subscriptions: []paho5.SubscribeOptions{{Topic: "exp/t", QoS: 1}}})
		require.NoError(t, err)
		require.NoError(t, sub.Disconnect(&paho5.Disconnect{}))
		pub := s.mqtt5(t, &paho5.Connect{ClientID: "exp-pub", CleanStart: true})
		for range 2 {
			_, err := pub.Publish(context.Background(), &paho5.Publish{Topic: "exp/t", QoS: 1, Payload: []byte("x"),
				Properties: &paho5.PublishProperties{MessageExpiry: aws.Uint32(1)}})
			require.NoError(t, err)
		}
		s.await(t, 2, "dropped", "mqtt", "expired")
	})
}
