package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

// TestFaceRedeliveredAndDeadLettered requeues and dead-letters messages
// over AMQP and SQS and reads the per-face redelivered and dead-lettered
// counters off /metrics.
func TestFaceRedeliveredAndDeadLettered(t *testing.T) {
	s := startStack(t, mqtt.Config{})
	const n = 3
	ctx := context.Background()

	t.Run("amqp requeue", func(t *testing.T) {
		ch := s.amqpChannel(t)
		_, err := ch.QueueDeclare("rd.amqp", false, false, false, false, nil)
		require.NoError(t, err)
		for range n {
			publish(t, ch, "", "rd.amqp", false)
		}
		ds, err := ch.Consume("rd.amqp", "", false, false, false, false, nil)
		require.NoError(t, err)
		next := func() amqp091.Delivery {
			select {
			case d := <-ds:
				return d
			case <-time.After(10 * time.Second):
				t.Fatal("no delivery")
			}
			return amqp091.Delivery{}
		}
		for range n {
			d := next()
			require.False(t, d.Redelivered)
			require.NoError(t, d.Nack(false, true))
		}
		for range n {
			d := next()
			require.True(t, d.Redelivered)
			require.NoError(t, d.Ack(false))
		}
		s.await(t, 2*n, "delivered", "amqp", "")
		s.await(t, n, "redelivered", "amqp", "")
	})

	t.Run("amqp dead-lettered", func(t *testing.T) {
		ch := s.amqpChannel(t)
		_, err := ch.QueueDeclare("dl.target", false, false, false, false, nil)
		require.NoError(t, err)
		_, err = ch.QueueDeclare("dl.source", false, false, false, false, amqp091.Table{
			"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dl.target"})
		require.NoError(t, err)
		for range n {
			publish(t, ch, "", "dl.source", false)
		}
		for range n {
			d, ok, err := ch.Get("dl.source", false)
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, d.Reject(false))
		}
		s.await(t, n, "dead_lettered", "amqp", "")
		q, err := ch.QueueDeclarePassive("dl.target", false, false, false, false, nil)
		require.NoError(t, err)
		require.Equal(t, n, q.Messages, "the dead-lettered copies reached their queue")
		require.Zero(t, s.count(t, "dead_lettered", "core", ""), "copies count under the face they entered by")
	})

	t.Run("sqs visibility timeout and redrive", func(t *testing.T) {
		c := s.sqs()
		dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("rd-dlq")})
		require.NoError(t, err)
		q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("rd-src"), Attributes: map[string]string{
			"VisibilityTimeout": "0", // the SDK omits a VisibilityTimeout of 0 on ReceiveMessage
			"RedrivePolicy":     `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:rd-dlq","maxReceiveCount":"2"}`}})
		require.NoError(t, err)
		_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("x")})
		require.NoError(t, err)
		receive := func() int {
			out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl})
			require.NoError(t, err)
			return len(out.Messages)
		}
		require.Equal(t, 1, receive(), "first receive")
		require.Equal(t, 1, receive(), "second receive, after a zero visibility timeout")
		s.await(t, 1, "redelivered", "sqs", "")
		// A third receive exceeds maxReceiveCount 2: the message moves to
		// the dead-letter queue instead.
		require.Eventually(t, func() bool {
			_ = receive()
			return s.count(t, "dead_lettered", "sqs", "") == 1
		}, 30*time.Second, 50*time.Millisecond)
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, WaitTimeSeconds: 5})
		require.NoError(t, err)
		require.Len(t, out.Messages, 1, "the message reached the dead-letter queue")
	})
}
