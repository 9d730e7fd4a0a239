package awsgw

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"
)

func createQueue(t *testing.T, c *sqs.Client, name string, attrs map[string]string) *string {
	t.Helper()
	out, err := c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	require.NoError(t, err)
	return out.QueueUrl
}

func TestBatches(t *testing.T) {
	_, c := sdkEnv(t)
	url := createQueue(t, c, "batch", nil)
	var entries []types.SendMessageBatchRequestEntry
	for i := 0; i < 10; i++ {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)),
			MessageBody: aws.String(fmt.Sprint("body", i))})
	}
	entries[3].MessageBody = aws.String("") // fails alone
	sent, err := c.SendMessageBatch(ctx(), &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries})
	require.NoError(t, err)
	require.Len(t, sent.Successful, 9)
	require.Len(t, sent.Failed, 1)
	require.Equal(t, "e3", *sent.Failed[0].Id)
	require.Equal(t, "MissingParameter", *sent.Failed[0].Code)

	var handles []types.DeleteMessageBatchRequestEntry
	var vis []types.ChangeMessageVisibilityBatchRequestEntry
	eventually(t, func() bool {
		got, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10})
		require.NoError(t, err)
		for _, m := range got.Messages {
			id := aws.String(fmt.Sprint("h", len(handles)))
			handles = append(handles, types.DeleteMessageBatchRequestEntry{Id: id, ReceiptHandle: m.ReceiptHandle})
			vis = append(vis, types.ChangeMessageVisibilityBatchRequestEntry{Id: id, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 100})
		}
		return len(handles) == 9
	})
	cv, err := c.ChangeMessageVisibilityBatch(ctx(), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: url, Entries: vis})
	require.NoError(t, err)
	require.Len(t, cv.Successful, 9)
	handles = append(handles, types.DeleteMessageBatchRequestEntry{Id: aws.String("forged"), ReceiptHandle: aws.String("AAAA")})
	del, err := c.DeleteMessageBatch(ctx(), &sqs.DeleteMessageBatchInput{QueueUrl: url, Entries: handles})
	require.NoError(t, err)
	require.Len(t, del.Successful, 9)
	require.Len(t, del.Failed, 1)
	require.Equal(t, "ReceiptHandleIsInvalid", *del.Failed[0].Code)

	// Request-level batch errors, as AWS words them.
	many := append(append([]types.SendMessageBatchRequestEntry{}, entries...), entries...)
	for i := range many {
		many[i].Id = aws.String(fmt.Sprint("m", i))
	}
	_, err = c.SendMessageBatch(ctx(), &sqs.SendMessageBatchInput{QueueUrl: url, Entries: many})
	apiErr(t, err, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent 20.", 400)
	_, err = c.SendMessageBatch(ctx(), &sqs.SendMessageBatchInput{QueueUrl: url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("invalid:id"), MessageBody: aws.String("x")}}})
	apiErr(t, err, "AWS.SimpleQueueService.InvalidBatchEntryId",
		"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.", 400)
	_, err = c.SendMessageBatch(ctx(), &sqs.SendMessageBatchInput{QueueUrl: url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("x")}, {Id: aws.String("a"), MessageBody: aws.String("y")}}})
	apiErr(t, err, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "", 400)
	big := strings.Repeat("a", 1<<20/2)
	_, err = c.SendMessageBatch(ctx(), &sqs.SendMessageBatchInput{QueueUrl: url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String(big)}, {Id: aws.String("b"), MessageBody: aws.String(big + "x")}}})
	apiErr(t, err, "AWS.SimpleQueueService.BatchRequestTooLong",
		"Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes.", 400)
}

func TestSendReceiveErrors(t *testing.T) {
	_, c := sdkEnv(t)
	url := createQueue(t, c, "errs", nil)
	_, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 11})
	apiErr(t, err, "InvalidParameterValue", "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", 400)
	_, err = c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url, WaitTimeSeconds: 21})
	apiErr(t, err, "InvalidParameterValue", "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", 400)
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(strings.Repeat("a", 1<<20+1))})
	apiErr(t, err, "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.", 400)
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("")})
	apiErr(t, err, "MissingParameter", "The request must contain the parameter MessageBody.", 400)
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("x"),
		MessageAttributes: map[string]types.MessageAttributeValue{"ErrorDetails": {DataType: aws.String("String"), StringValue: aws.String("")}}})
	apiErr(t, err, "InvalidParameterValue", "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type 'String'.", 400)
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("x"), MessageGroupId: aws.String("group 123")})
	apiErr(t, err, "InvalidParameterValue", "Value group 123 for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.", 400)
	_, err = c.DeleteMessage(ctx(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: aws.String("forged")})
	apiErr(t, err, "ReceiptHandleIsInvalid", "", 404)
	var rh *types.ReceiptHandleIsInvalid
	require.ErrorAs(t, err, &rh)
}

func TestVisibilityAndReceiveCount(t *testing.T) {
	_, c := sdkEnv(t)
	url := createQueue(t, c, "vis", nil)
	_, err := c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("v")})
	require.NoError(t, err)
	first, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url, VisibilityTimeout: 600})
	require.NoError(t, err)
	require.Len(t, first.Messages, 1)
	none, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url})
	require.NoError(t, err)
	require.Empty(t, none.Messages)
	attrs, err := c.GetQueueAttributes(ctx(), &sqs.GetQueueAttributesInput{QueueUrl: url,
		AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessagesNotVisible"}})
	require.NoError(t, err)
	require.Equal(t, "1", attrs.Attributes["ApproximateNumberOfMessagesNotVisible"])
	_, err = c.ChangeMessageVisibility(ctx(), &sqs.ChangeMessageVisibilityInput{QueueUrl: url,
		ReceiptHandle: first.Messages[0].ReceiptHandle, VisibilityTimeout: 0})
	require.NoError(t, err)
	second, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	require.NoError(t, err)
	require.Len(t, second.Messages, 1)
	require.Equal(t, "2", second.Messages[0].Attributes["ApproximateReceiveCount"])
	require.NotEqual(t, *first.Messages[0].ReceiptHandle, *second.Messages[0].ReceiptHandle)
	_, err = c.ChangeMessageVisibility(ctx(), &sqs.ChangeMessageVisibilityInput{QueueUrl: url,
		ReceiptHandle: second.Messages[0].ReceiptHandle, VisibilityTimeout: 43201})
	apiErr(t, err, "InvalidParameterValue", "", 400)
	_, err = c.DeleteMessage(ctx(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: second.Messages[0].ReceiptHandle})
	require.NoError(t, err)
	_, err = c.ChangeMessageVisibility(ctx(), &sqs.ChangeMessageVisibilityInput{QueueUrl: url,
		ReceiptHandle: second.Messages[0].ReceiptHandle, VisibilityTimeout: 10})
	apiErr(t, err, "AWS.SimpleQueueService.MessageNotInflight", "", 400)
}

func TestLongPollWokenBySend(t *testing.T) {
	_, c := sdkEnv(t)
	url := createQueue(t, c, "poll", nil)
	got := make(chan *sqs.ReceiveMessageOutput, 1)
	go func() {
		out, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url, WaitTimeSeconds: 20})
		if err != nil {
			out = nil
		}
		got <- out
	}()
	// Send until the poller has it: a send before the poll starts is fine too.
	_, err := c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("wake")})
	require.NoError(t, err)
	out := <-got
	require.NotNil(t, out)
	require.Len(t, out.Messages, 1)
	require.Equal(t, "wake", *out.Messages[0].Body)
}

func TestFIFOOrderAndDedup(t *testing.T) {
	_, c := sdkEnv(t)
	url := createQueue(t, c, "order.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	for i := 0; i < 6; i++ {
		out, err := c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(fmt.Sprint("m", i)),
			MessageGroupId: aws.String(fmt.Sprint("g", i%2))})
		require.NoError(t, err)
		require.NotEmpty(t, *out.SequenceNumber)
	}
	// A duplicate body in the window is accepted and dropped.
	_, err := c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("m0"), MessageGroupId: aws.String("g0")})
	require.NoError(t, err)

	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("x")})
	apiErr(t, err, "MissingParameter", "The request must contain the parameter MessageGroupId.", 400)
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("x"),
		MessageGroupId: aws.String("g"), DelaySeconds: 2})
	apiErr(t, err, "InvalidParameterValue", "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.", 400)

	var bodies []string
	for len(bodies) < 6 {
		out, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
		require.NoError(t, err)
		require.NotEmpty(t, out.Messages)
		for _, m := range out.Messages {
			bodies = append(bodies, *m.Body)
			require.NotEmpty(t, m.Attributes["SequenceNumber"])
			require.NotEmpty(t, m.Attributes["MessageGroupId"])
			_, err := c.DeleteMessage(ctx(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle})
			require.NoError(t, err)
		}
	}
	var g0, g1 []string
	for _, b := range bodies {
		if (b[1]-'0')%2 == 0 {
			g0 = append(g0, b)
		} else {
			g1 = append(g1, b)
		}
	}
	require.Equal(t, []string{"m0", "m2", "m4"}, g0)
	require.Equal(t, []string{"m1", "m3", "m5"}, g1)

	noDedup := createQueue(t, c, "nodedup.fifo", map[string]string{"FifoQueue": "true"})
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: noDedup, MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
	apiErr(t, err, "InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly", 400)
}

func TestFIFOGroupBlockedWhileInFlight(t *testing.T) {
	_, c := sdkEnv(t)
	url := createQueue(t, c, "block.fifo", map[string]string{"FifoQueue": "true"})
	for i := 0; i < 2; i++ {
		_, err := c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(fmt.Sprint(i)),
			MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String(fmt.Sprint("d", i))})
		require.NoError(t, err)
	}
	first, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url})
	require.NoError(t, err)
	require.Len(t, first.Messages, 1)
	blocked, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url})
	require.NoError(t, err)
	require.Empty(t, blocked.Messages)
	_, err = c.DeleteMessage(ctx(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: first.Messages[0].ReceiptHandle})
	require.NoError(t, err)
	next, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url})
	require.NoError(t, err)
	require.Len(t, next.Messages, 1)
	require.Equal(t, "1", *next.Messages[0].Body)
}

func TestRedriveToDLQAndMoveBack(t *testing.T) {
	_, c := sdkEnv(t)
	dlq := createQueue(t, c, "dlq", map[string]string{"VisibilityTimeout": "0"})
	src := createQueue(t, c, "src", map[string]string{"VisibilityTimeout": "0",
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"2"}`})
	_, err := c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: src, MessageBody: aws.String("poison")})
	require.NoError(t, err)
	received := 0
	eventually(t, func() bool {
		out, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: src, VisibilityTimeout: 0})
		require.NoError(t, err)
		received += len(out.Messages)
		return received == 2
	})
	var moved *types.Message
	eventually(t, func() bool {
		out, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: src, VisibilityTimeout: 0})
		require.NoError(t, err)
		require.Empty(t, out.Messages)
		d, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: dlq, VisibilityTimeout: 0})
		require.NoError(t, err)
		if len(d.Messages) == 1 {
			moved = &d.Messages[0]
		}
		return moved != nil
	})
	require.Equal(t, "poison", *moved.Body)

	srcs, err := c.ListDeadLetterSourceQueues(ctx(), &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: dlq})
	require.NoError(t, err)
	require.Equal(t, []string{*src}, srcs.QueueUrls)

	eventually(t, func() bool {
		a, err := c.GetQueueAttributes(ctx(), &sqs.GetQueueAttributesInput{QueueUrl: dlq,
			AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages"}})
		require.NoError(t, err)
		return a.Attributes["ApproximateNumberOfMessages"] == "1"
	})
	task, err := c.StartMessageMoveTask(ctx(), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")})
	require.NoError(t, err)
	require.NotEmpty(t, *task.TaskHandle)
	tasks, err := c.ListMessageMoveTasks(ctx(), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")})
	require.NoError(t, err)
	require.Len(t, tasks.Results, 1)
	require.Equal(t, "COMPLETED", *tasks.Results[0].Status)
	require.EqualValues(t, 1, tasks.Results[0].ApproximateNumberOfMessagesMoved)
	back, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: src})
	require.NoError(t, err)
	require.Len(t, back.Messages, 1)
	require.Equal(t, "poison", *back.Messages[0].Body)
}

func TestDelaySeconds(t *testing.T) {
	_, c := sdkEnv(t)
	url := createQueue(t, c, "delay", nil)
	_, err := c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("later"), DelaySeconds: 900})
	require.NoError(t, err)
	attrs, err := c.GetQueueAttributes(ctx(), &sqs.GetQueueAttributesInput{QueueUrl: url,
		AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessagesDelayed"}})
	require.NoError(t, err)
	require.Equal(t, "1", attrs.Attributes["ApproximateNumberOfMessagesDelayed"])
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("x"), DelaySeconds: 901})
	apiErr(t, err, "InvalidParameterValue", "", 400)
}
