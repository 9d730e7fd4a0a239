package awsgw

import (
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"
)

func TestSendReceiveDelete(t *testing.T) {
	_, c := sdkEnv(t)
	cq, err := c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("q1")})
	require.NoError(t, err)
	require.Contains(t, *cq.QueueUrl, "/000000000000/q1")
	url := cq.QueueUrl

	sent, err := c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("msg"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"Foo":  {DataType: aws.String("String"), StringValue: aws.String("Bar")},
			"Num":  {DataType: aws.String("Number.int"), StringValue: aws.String("42")},
			"Blob": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		}})
	require.NoError(t, err) // the SDK checks both MD5s
	require.Equal(t, "6e2baaf3b97dbeef01c0043275f9a0e7", *sent.MD5OfMessageBody)

	got, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	require.NoError(t, err)
	require.Len(t, got.Messages, 1)
	m := got.Messages[0]
	require.Equal(t, "msg", *m.Body)
	require.Equal(t, *sent.MessageId, *m.MessageId)
	require.Equal(t, *sent.MD5OfMessageAttributes, *m.MD5OfMessageAttributes)
	require.Equal(t, "Bar", *m.MessageAttributes["Foo"].StringValue)
	require.Equal(t, "Number.int", *m.MessageAttributes["Num"].DataType)
	require.Equal(t, []byte{0, 1, 2}, m.MessageAttributes["Blob"].BinaryValue)
	require.Equal(t, "1", m.Attributes["ApproximateReceiveCount"])
	require.NotEmpty(t, m.Attributes["SentTimestamp"])
	require.NotEmpty(t, m.Attributes["SenderId"])

	_, err = c.DeleteMessage(ctx(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle})
	require.NoError(t, err)
	attrs, err := c.GetQueueAttributes(ctx(), &sqs.GetQueueAttributesInput{QueueUrl: url,
		AttributeNames: []types.QueueAttributeName{"All"}})
	require.NoError(t, err)
	require.Equal(t, "0", attrs.Attributes["ApproximateNumberOfMessages"])
	require.Equal(t, "0", attrs.Attributes["ApproximateNumberOfMessagesNotVisible"])
	require.Equal(t, "arn:aws:sqs:us-east-1:000000000000:q1", attrs.Attributes["QueueArn"])
	for _, k := range []string{"DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod",
		"ReceiveMessageWaitTimeSeconds", "VisibilityTimeout", "CreatedTimestamp", "LastModifiedTimestamp",
		"ApproximateNumberOfMessagesDelayed", "SqsManagedSseEnabled"} {
		require.Contains(t, attrs.Attributes, k)
	}
	require.Equal(t, "1048576", attrs.Attributes["MaximumMessageSize"])
	require.Equal(t, "345600", attrs.Attributes["MessageRetentionPeriod"])
	require.Equal(t, "30", attrs.Attributes["VisibilityTimeout"])
	_, err = strconv.ParseInt(attrs.Attributes["CreatedTimestamp"], 10, 64)
	require.NoError(t, err)
}
