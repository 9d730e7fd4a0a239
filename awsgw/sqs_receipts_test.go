package awsgw

import (
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
)

// queueCounts returns ApproximateNumberOfMessages, …NotVisible and …Delayed.
func queueCounts(t *testing.T, c *sqs.Client, url *string) [3]string {
	t.Helper()
	out, err := c.GetQueueAttributes(ctx(), &sqs.GetQueueAttributesInput{QueueUrl: url,
		AttributeNames: []types.QueueAttributeName{"All"}})
	require.NoError(t, err)
	a := out.Attributes
	return [3]string{a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"],
		a["ApproximateNumberOfMessagesDelayed"]}
}

func receiveOne(t *testing.T, c *sqs.Client, url *string) types.Message {
	t.Helper()
	out, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url, VisibilityTimeout: 600,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1)
	return out.Messages[0]
}

// makeVisible ends a receive's visibility timeout at once.
func makeVisible(t *testing.T, c *sqs.Client, url *string, m types.Message) {
	t.Helper()
	_, err := c.ChangeMessageVisibility(ctx(), &sqs.ChangeMessageVisibilityInput{QueueUrl: url,
		ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
	require.NoError(t, err)
}

func TestSetQueueAttributesReachTheQueue(t *testing.T) {
	e, c := sdkEnv(t)
	url := createQueue(t, c, "settable", nil)
	dlq := createQueue(t, c, "settable-dlq", nil)
	_, err := c.SetQueueAttributes(ctx(), &sqs.SetQueueAttributesInput{QueueUrl: url, Attributes: map[string]string{
		"DelaySeconds": "60", "MessageRetentionPeriod": "120"}})
	require.NoError(t, err)
	v, _ := e.b.Vhost("/")
	q, _ := v.Queue("settable")
	require.Equal(t, queue.Options{DefaultDelay: time.Minute, Retention: 2 * time.Minute}, q.Config().Options)

	// A message published over AMQP (the core) gets the queue's delay, as an SQS one does.
	_, err = v.Publish(&message.Message{RoutingKey: "settable", Body: []byte("amqp"), Origin: message.FaceAMQP}, nil)
	require.NoError(t, err)
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("sqs")})
	require.NoError(t, err)
	require.Equal(t, [3]string{"0", "0", "2"}, queueCounts(t, c, url))

	// Redrive applies to the next receives.
	_, err = c.SetQueueAttributes(ctx(), &sqs.SetQueueAttributesInput{QueueUrl: url, Attributes: map[string]string{
		"DelaySeconds":  "0",
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:settable-dlq","maxReceiveCount":"1"}`}})
	require.NoError(t, err)
	require.Equal(t, uint32(1), q.Config().Options.MaxReceiveCount)
	require.Zero(t, q.Config().Options.DefaultDelay)
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("redriven")})
	require.NoError(t, err)
	m := receiveOne(t, c, url)
	require.Equal(t, "redriven", *m.Body)
	makeVisible(t, c, url, m)
	out, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url})
	require.NoError(t, err)
	require.Empty(t, out.Messages, "moved past maxReceiveCount")
	require.Equal(t, "redriven", *receiveOne(t, c, dlq).Body)
}

func TestPurgeQueueDropsInFlight(t *testing.T) {
	_, c := sdkEnv(t)
	url := createQueue(t, c, "purge-all", nil)
	for _, d := range []int32{0, 0, 600} {
		_, err := c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("m"), DelaySeconds: d})
		require.NoError(t, err)
	}
	inflight := receiveOne(t, c, url)
	require.Equal(t, [3]string{"1", "1", "1"}, queueCounts(t, c, url))
	_, err := c.PurgeQueue(ctx(), &sqs.PurgeQueueInput{QueueUrl: url})
	require.NoError(t, err)
	require.Equal(t, [3]string{"0", "0", "0"}, queueCounts(t, c, url))
	// The purged receive's handle is accepted (standard queue) and deletes nothing.
	_, err = c.DeleteMessage(ctx(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: inflight.ReceiptHandle})
	require.NoError(t, err)
	_, err = c.ChangeMessageVisibility(ctx(), &sqs.ChangeMessageVisibilityInput{QueueUrl: url,
		ReceiptHandle: inflight.ReceiptHandle, VisibilityTimeout: 10})
	apiErr(t, err, "AWS.SimpleQueueService.MessageNotInflight", "", 400)
}

func TestStaleReceiptHandles(t *testing.T) {
	const expired = "The receipt handle has expired."
	tests := []struct {
		name      string
		queue     string
		attrs     map[string]string
		deleteErr string // DeleteMessage with the older handle; "" = accepted
	}{
		{"standard: accepted, newer receive kept", "stale", nil, ""},
		{"FIFO: expired", "stale.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}, expired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := sdkEnv(t)
			url := createQueue(t, c, tt.queue, tt.attrs)
			in := &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("m")}
			if tt.attrs != nil {
				in.MessageGroupId = aws.String("g")
			}
			_, err := c.SendMessage(ctx(), in)
			require.NoError(t, err)
			old := receiveOne(t, c, url)
			makeVisible(t, c, url, old)
			cur := receiveOne(t, c, url)
			require.Equal(t, "2", cur.Attributes["ApproximateReceiveCount"])
			require.Equal(t, old.Attributes["ApproximateFirstReceiveTimestamp"], cur.Attributes["ApproximateFirstReceiveTimestamp"])

			_, err = c.DeleteMessage(ctx(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: old.ReceiptHandle})
			if tt.deleteErr == "" {
				require.NoError(t, err)
			} else {
				apiErr(t, err, "InvalidParameterValue", "Value "+*old.ReceiptHandle+" for parameter ReceiptHandle is invalid. Reason: "+tt.deleteErr, 400)
			}
			require.Equal(t, [3]string{"0", "1", "0"}, queueCounts(t, c, url), "the newer receive is still in flight")
			_, err = c.ChangeMessageVisibility(ctx(), &sqs.ChangeMessageVisibilityInput{QueueUrl: url,
				ReceiptHandle: old.ReceiptHandle, VisibilityTimeout: 0})
			apiErr(t, err, "InvalidParameterValue", "", 400)
			require.Equal(t, [3]string{"0", "1", "0"}, queueCounts(t, c, url), "visibility unchanged")

			// The current handle works, after its visibility ended too on a standard queue.
			makeVisible(t, c, url, cur)
			_, err = c.DeleteMessage(ctx(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: cur.ReceiptHandle})
			if tt.deleteErr == "" {
				require.NoError(t, err)
				require.Equal(t, [3]string{"0", "0", "0"}, queueCounts(t, c, url))
				return
			}
			apiErr(t, err, "InvalidParameterValue", "", 400)
			last := receiveOne(t, c, url)
			_, err = c.DeleteMessage(ctx(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: last.ReceiptHandle})
			require.NoError(t, err)
			require.Equal(t, [3]string{"0", "0", "0"}, queueCounts(t, c, url))
		})
	}
}

func TestFIFODuplicateAnswersWithOriginal(t *testing.T) {
	_, c := sdkEnv(t)
	url := createQueue(t, c, "dups.fifo", map[string]string{"FifoQueue": "true"})
	send := func(body string) *sqs.SendMessageOutput {
		out, err := c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(body),
			MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("same")})
		require.NoError(t, err)
		return out
	}
	first := send("one")
	dup := send("two")
	require.Equal(t, *first.MessageId, *dup.MessageId)
	require.Equal(t, *first.SequenceNumber, *dup.SequenceNumber)

	batch, err := c.SendMessageBatch(ctx(), &sqs.SendMessageBatchInput{QueueUrl: url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("three"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("same")},
		{Id: aws.String("b"), MessageBody: aws.String("four"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("new")},
	}})
	require.NoError(t, err)
	require.Len(t, batch.Successful, 2)
	require.Equal(t, *first.MessageId, *batch.Successful[0].MessageId)
	require.Equal(t, *first.SequenceNumber, *batch.Successful[0].SequenceNumber)
	require.NotEqual(t, *first.MessageId, *batch.Successful[1].MessageId)

	got := receiveOne(t, c, url)
	require.Equal(t, "one", *got.Body)
	require.Equal(t, *first.MessageId, *got.MessageId)
	first64, _ := strconv.ParseInt(got.Attributes["ApproximateFirstReceiveTimestamp"], 10, 64)
	require.InDelta(t, time.Now().UnixMilli(), first64, 60_000)
}
