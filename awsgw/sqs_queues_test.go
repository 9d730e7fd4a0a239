package awsgw

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
)

func TestCreateQueueIdempotentAndConflicts(t *testing.T) {
	_, c := sdkEnv(t)
	in := &sqs.CreateQueueInput{QueueName: aws.String("cq"), Attributes: map[string]string{"DelaySeconds": "1"}}
	a, err := c.CreateQueue(ctx(), in)
	require.NoError(t, err)
	b, err := c.CreateQueue(ctx(), in)
	require.NoError(t, err)
	require.Equal(t, *a.QueueUrl, *b.QueueUrl)

	_, err = c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("cq"),
		Attributes: map[string]string{"DelaySeconds": "2"}})
	apiErr(t, err, "QueueAlreadyExists",
		"A queue already exists with the same name and a different value for attribute DelaySeconds", 400)

	_, err = c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("cf.fifo"),
		Attributes: map[string]string{"FifoQueue": "true"}})
	require.NoError(t, err)
	_, err = c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("cf.fifo"),
		Attributes: map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}})
	apiErr(t, err, "QueueAlreadyExists",
		"A queue already exists with the same name and a different value for attribute ContentBasedDeduplication", 400)

	for _, tc := range []struct{ attr, val, code, msg string }{
		{"ContentBasedDeduplication", "true", "InvalidAttributeName", "Unknown Attribute ContentBasedDeduplication."},
		{"DeduplicationScope", "queue", "InvalidAttributeName", "You can specify the DeduplicationScope only when FifoQueue is set to true."},
		{"FifoThroughputLimit", "perQueue", "InvalidAttributeName", "You can specify the FifoThroughputLimit only when FifoQueue is set to true."},
		{"Bogus", "1", "InvalidAttributeName", "Unknown Attribute Bogus."},
		{"VisibilityTimeout", "43201", "InvalidAttributeValue", "Invalid value for the parameter VisibilityTimeout."},
	} {
		t.Run(tc.attr, func(t *testing.T) {
			_, err := c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("std"),
				Attributes: map[string]string{tc.attr: tc.val}})
			apiErr(t, err, tc.code, tc.msg, 400)
		})
	}
	_, err = c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("bad name")})
	apiErr(t, err, "InvalidParameterValue", "", 400)
}

func TestQueueDoesNotExist(t *testing.T) {
	e, c := sdkEnv(t)
	_, err := c.GetQueueUrl(ctx(), &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	apiErr(t, err, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.", 400)
	var qne *types.QueueDoesNotExist
	require.ErrorAs(t, err, &qne)
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: aws.String(e.url + "/000000000000/nope"),
		MessageBody: aws.String("x")})
	apiErr(t, err, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.", 400)
}

func TestListQueuesAndDelete(t *testing.T) {
	e, c := sdkEnv(t)
	for i := 0; i < 5; i++ {
		_, err := c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("list-%d", i))})
		require.NoError(t, err)
	}
	v, err := e.b.Vhost("/")
	require.NoError(t, err)
	_, _, err = v.DeclareQueue(core.QueueDecl{Name: "list-amqp", Durable: true})
	require.NoError(t, err)
	_, _, err = v.DeclareQueue(core.QueueDecl{Name: "list.not:sqs", Durable: true})
	require.NoError(t, err)

	all, err := c.ListQueues(ctx(), &sqs.ListQueuesInput{QueueNamePrefix: aws.String("list")})
	require.NoError(t, err)
	require.Len(t, all.QueueUrls, 6)
	require.Nil(t, all.NextToken)
	// The queue SQS cannot name is left out, and the listing says why.
	req, err := http.NewRequest(http.MethodPost, e.url, strings.NewReader(`{"QueueNamePrefix":"list"}`))
	require.NoError(t, err)
	req.Header.Set("X-Amz-Target", "AmazonSQS.ListQueues")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	e2 := newEnv(t, Config{AcceptAnyKey: true})
	_, _, err = mustVhost(t, e2).DeclareQueue(core.QueueDecl{Name: "list.not:sqs"})
	require.NoError(t, err)
	req.URL, _ = url.Parse(e2.url)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, resp.Header.Get(OmittedHeader), `"list.not:sqs": not valid SQS queue names`)

	var pages []string
	in := &sqs.ListQueuesInput{QueueNamePrefix: aws.String("list-"), MaxResults: aws.Int32(4)}
	p := sqs.NewListQueuesPaginator(c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx())
		require.NoError(t, err)
		pages = append(pages, out.QueueUrls...)
	}
	require.Len(t, pages, 6)

	url := all.QueueUrls[0]
	_, err = c.DeleteQueue(ctx(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	require.NoError(t, err)
	_, err = c.GetQueueAttributes(ctx(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url)})
	apiErr(t, err, "AWS.SimpleQueueService.NonExistentQueue", "", 400)
	_, err = c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("list-0")})
	apiErr(t, err, "AWS.SimpleQueueService.QueueDeletedRecently", "", 400)

	// The AMQP-declared queue works through SQS with default attributes.
	u, err := c.GetQueueUrl(ctx(), &sqs.GetQueueUrlInput{QueueName: aws.String("list-amqp")})
	require.NoError(t, err)
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: aws.String("hi")})
	require.NoError(t, err)
}

func TestSetQueueAttributesTagsPermissions(t *testing.T) {
	_, c := sdkEnv(t)
	cq, err := c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("attrs"),
		Tags: map[string]string{"team": "core"}})
	require.NoError(t, err)
	url := cq.QueueUrl
	_, err = c.SetQueueAttributes(ctx(), &sqs.SetQueueAttributesInput{QueueUrl: url,
		Attributes: map[string]string{"DelaySeconds": "420", "MaximumMessageSize": "2048", "VisibilityTimeout": "69"}})
	require.NoError(t, err)
	got, err := c.GetQueueAttributes(ctx(), &sqs.GetQueueAttributesInput{QueueUrl: url,
		AttributeNames: []types.QueueAttributeName{"DelaySeconds", "MaximumMessageSize", "VisibilityTimeout"}})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"DelaySeconds": "420", "MaximumMessageSize": "2048", "VisibilityTimeout": "69"}, got.Attributes)

	_, err = c.SetQueueAttributes(ctx(), &sqs.SetQueueAttributesInput{QueueUrl: url,
		Attributes: map[string]string{"FifoQueue": "true"}})
	apiErr(t, err, "InvalidAttributeName", "Unknown Attribute FifoQueue.", 400)

	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(strings.Repeat("a", 2049))})
	apiErr(t, err, "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 2048 bytes.", 400)

	_, err = c.TagQueue(ctx(), &sqs.TagQueueInput{QueueUrl: url, Tags: map[string]string{"env": "test", "x": "y"}})
	require.NoError(t, err)
	_, err = c.UntagQueue(ctx(), &sqs.UntagQueueInput{QueueUrl: url, TagKeys: []string{"x"}})
	require.NoError(t, err)
	tags, err := c.ListQueueTags(ctx(), &sqs.ListQueueTagsInput{QueueUrl: url})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"team": "core", "env": "test"}, tags.Tags)

	_, err = c.AddPermission(ctx(), &sqs.AddPermissionInput{QueueUrl: url, Label: aws.String("crossaccountpermission"),
		AWSAccountIds: []string{"111111111111"}, Actions: []string{"SendMessage"}})
	require.NoError(t, err)
	_, err = c.AddPermission(ctx(), &sqs.AddPermissionInput{QueueUrl: url, Label: aws.String("crossaccountpermission"),
		AWSAccountIds: []string{"111111111111"}, Actions: []string{"SendMessage"}})
	apiErr(t, err, "InvalidParameterValue", "Value crossaccountpermission for parameter Label is invalid. Reason: Already exists.", 400)
	pol, err := c.GetQueueAttributes(ctx(), &sqs.GetQueueAttributesInput{QueueUrl: url,
		AttributeNames: []types.QueueAttributeName{"Policy"}})
	require.NoError(t, err)
	require.Contains(t, pol.Attributes["Policy"], "arn:aws:iam::111111111111:root")
	_, err = c.RemovePermission(ctx(), &sqs.RemovePermissionInput{QueueUrl: url, Label: aws.String("crossaccountpermission2")})
	apiErr(t, err, "InvalidParameterValue", "Value crossaccountpermission2 for parameter Label is invalid. Reason: can't find label.", 400)
	_, err = c.RemovePermission(ctx(), &sqs.RemovePermissionInput{QueueUrl: url, Label: aws.String("crossaccountpermission")})
	require.NoError(t, err)
}

func TestPurgeQueue(t *testing.T) {
	_, c := sdkEnv(t)
	cq, err := c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("purge")})
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: cq.QueueUrl, MessageBody: aws.String("m")})
		require.NoError(t, err)
	}
	_, err = c.PurgeQueue(ctx(), &sqs.PurgeQueueInput{QueueUrl: cq.QueueUrl})
	require.NoError(t, err)
	got, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl})
	require.NoError(t, err)
	require.Empty(t, got.Messages)
	_, err = c.PurgeQueue(ctx(), &sqs.PurgeQueueInput{QueueUrl: cq.QueueUrl})
	apiErr(t, err, "AWS.SimpleQueueService.PurgeQueueInProgress", "Only one PurgeQueue operation on purge is allowed every 60 seconds.", 403)
}

func mustVhost(t *testing.T, e *testEnv) *core.Vhost {
	t.Helper()
	v, err := e.b.Vhost("/")
	require.NoError(t, err)
	return v
}

// TestSendToDeletedQueue: sends racing a DeleteQueue, and sends after it,
// fail with QueueDoesNotExist, never InternalFailure.
func TestSendToDeletedQueue(t *testing.T) {
	e := newEnv(t, Config{})
	// Concurrent calls dial spare connections that may never carry a
	// request; the server's Shutdown waits 5 s for such new connections,
	// so close them before it runs.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	c := sqs.New(e.client(t, "test", "test").Options(), func(o *sqs.Options) { o.HTTPClient = &http.Client{Transport: tr} })
	for i := range 20 {
		q, err := c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("del%d", i))})
		require.NoError(t, err)
		errs := make(chan error, 8)
		started := make(chan struct{}, 8)
		for range 8 {
			go func() {
				for n := 0; ; n++ {
					_, err := c.SendMessageBatch(ctx(), &sqs.SendMessageBatchInput{QueueUrl: q.QueueUrl,
						Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("x")},
							{Id: aws.String("b"), MessageBody: aws.String("y")}}})
					if n == 0 {
						started <- struct{}{}
					}
					if err != nil || n == 200 {
						errs <- err
						return
					}
				}
			}()
		}
		for range 8 {
			<-started
		}
		_, err = c.DeleteQueue(ctx(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
		require.NoError(t, err)
		for range 8 {
			if err := <-errs; err != nil {
				apiErr(t, err, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.", 400)
			}
		}
		_, err = c.SendMessageBatch(ctx(), &sqs.SendMessageBatchInput{QueueUrl: q.QueueUrl,
			Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("x")}}})
		apiErr(t, err, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.", 400)
	}
}
