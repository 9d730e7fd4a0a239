package crash_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const (
	sqsQueue = "crash-sqs"
	snsQueue = "crash-sns"
	snsTopic = "crash-topic"
)

// awsConfig is shared by the SQS, SNS and Kinesis clients. Retries are
// off: a request that fails is simply not confirmed, and the driver moves on
// to the next id (an SDK retry would make duplicates of its own).
func awsConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:  &http.Client{Timeout: 5 * time.Second},
	}
}

// clients builds SDK clients whose endpoint follows the broker's current
// address.
type clients struct{ b *broker }

func (c clients) sqs() *sqs.Client {
	return sqs.NewFromConfig(awsConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(c.b.awsURL()) })
}

func (c clients) sns() *sns.Client {
	return sns.NewFromConfig(awsConfig(), func(o *sns.Options) { o.BaseEndpoint = aws.String(c.b.awsURL()) })
}

func (c clients) kinesis() *kinesis.Client {
	return kinesis.NewFromConfig(awsConfig(), func(o *kinesis.Options) { o.BaseEndpoint = aws.String(c.b.awsURL()) })
}

// endpoint is a per-call option that points a request at the current
// incarnation (its ports change only if the old ones were taken).
func (c clients) sqsEndpoint(o *sqs.Options) { o.BaseEndpoint = aws.String(c.b.awsURL()) }

// setupSQS creates both queues and the SNS topic with a raw-delivery
// subscription to snsQueue.
func setupSQS(ctx context.Context, c clients) error {
	q := c.sqs()
	var snsURL string
	for _, name := range []string{sqsQueue, snsQueue} {
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("create queue %s: %w", name, err)
		}
		snsURL = *out.QueueUrl
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(snsURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return err
	}
	s := c.sns()
	topic, err := s.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(snsTopic)})
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	_, err = s.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint:   aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
		Attributes: map[string]string{"RawMessageDelivery": "true"},
	})
	return err
}

// sqsFace sends with SendMessage, or publishes to the SNS topic, and
// consumes with ReceiveMessage and DeleteMessageBatch.
type sqsFace struct {
	c      clients
	l      *ledger
	queue  string
	prefix string
	viaSNS bool
}

func (f *sqsFace) queueURL(ctx context.Context, q *sqs.Client) (string, error) {
	out, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(f.queue)}, f.c.sqsEndpoint)
	if err != nil {
		return "", err
	}
	return *out.QueueUrl, nil
}

func (f *sqsFace) produce(ctx context.Context) {
	q, s := f.c.sqs(), f.c.sns()
	topicArn := "arn:aws:sns:us-east-1:000000000000:" + snsTopic
	url := ""
	for id := 0; ctx.Err() == nil; id++ {
		body := aws.String(fmt.Sprintf("%s-%d", f.prefix, id))
		f.l.published.Add(1)
		var err error
		if f.viaSNS {
			_, err = s.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topicArn), Message: body},
				func(o *sns.Options) { o.BaseEndpoint = aws.String(f.c.b.awsURL()) })
		} else {
			if url == "" {
				if url, err = f.queueURL(ctx, q); err != nil {
					pause(ctx)
					continue
				}
			}
			_, err = q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: body}, f.c.sqsEndpoint)
		}
		if err != nil {
			url = ""
			pause(ctx)
			continue
		}
		f.l.confirm(id)
	}
}

func (f *sqsFace) consume(ctx context.Context) {
	q := f.c.sqs()
	url := ""
	for ctx.Err() == nil {
		var err error
		if url == "" {
			if url, err = f.queueURL(ctx, q); err != nil {
				pause(ctx)
				continue
			}
		}
		if err = f.receiveOnce(ctx, q, url); err != nil {
			url = ""
			pause(ctx)
		}
	}
}

// receiveOnce receives up to 10 messages and deletes them. A receive that
// is not deleted (lost with a crash) comes back after its visibility
// timeout, as at-least-once delivery allows.
func (f *sqsFace) receiveOnce(ctx context.Context, q *sqs.Client, url string) error {
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 2,
	}, f.c.sqsEndpoint)
	if err != nil || len(out.Messages) == 0 {
		return err
	}
	entries := make([]sqstypes.DeleteMessageBatchRequestEntry, 0, len(out.Messages))
	ids := map[string]int{}
	for i, m := range out.Messages {
		id, ok := parseID(f.prefix, []byte(aws.ToString(m.Body)))
		if !ok {
			f.l.count("foreign", 1)
			continue
		}
		f.l.deliver(f.queue, id)
		key := strconv.Itoa(i)
		ids[key] = id
		entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(key), ReceiptHandle: m.ReceiptHandle})
	}
	if len(entries) == 0 {
		return nil
	}
	del, err := q.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}, f.c.sqsEndpoint)
	if err != nil {
		return err
	}
	for _, s := range del.Successful {
		f.l.ack(ids[aws.ToString(s.Id)])
	}
	return nil
}
