package soak_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// awsConfig is the SDK configuration for the gateway at addr with the
// default key pair (test/test, SigV4 checked) and its own connections:
// closing tr drops them.
func awsConfig(addr string) (aws.Config, *http.Transport) {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	return aws.Config{Region: "us-east-1", RetryMaxAttempts: 3,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Transport: tr, Timeout: 30 * time.Second},
		BaseEndpoint: aws.String("http://" + addr)}, tr
}

// sqsLoad sends batches of 10 to a queue and receives and deletes them;
// one receive in fifty is left undeleted, to come back when its
// visibility timeout ends.
type sqsLoad struct {
	addr, queue, prefix string
	url                 string // set by setup
	t                   *tally
}

func newSQSLoad(addr string) *sqsLoad {
	return &sqsLoad{addr: addr, queue: "soak-sqs", prefix: "s", t: newTally("sqs")}
}

func (s *sqsLoad) tally() *tally { return s.t }

func (s *sqsLoad) client() (*sqs.Client, *http.Transport) {
	cfg, tr := awsConfig(s.addr)
	return sqs.NewFromConfig(cfg), tr
}

func (s *sqsLoad) setup(ctx context.Context) error {
	c, _ := s.client()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(s.queue),
		Attributes: map[string]string{"VisibilityTimeout": "5"}})
	if err != nil {
		return err
	}
	s.url = aws.ToString(out.QueueUrl)
	return nil
}

func (s *sqsLoad) produce(ctx context.Context, rate float64) {
	c, _ := s.client()
	pace(ctx, rate, 10, 16, func(n int) {
		first := s.t.ids(n)
		entries := make([]types.SendMessageBatchRequestEntry, n)
		for i := range entries {
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)),
				MessageBody: aws.String(s.prefix + "-" + strconv.Itoa(first+i))}
		}
		out, err := c.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.url), Entries: entries})
		if err != nil {
			return
		}
		for _, ok := range out.Successful {
			i, _ := strconv.Atoi(aws.ToString(ok.Id))
			s.t.confirm(first + i)
		}
	})
}

// sqsReceivers is the number of receive loops of one consumer: a receive
// and its delete take a few sync latencies, so one loop alone would fall
// behind the producer.
const sqsReceivers = 4

// consume receives with sqsReceivers loops until life ends; abruptly,
// the last long polls are cut off mid-request.
func (s *sqsLoad) consume(ctx context.Context, life time.Duration, abrupt bool) {
	c, tr := s.client()
	defer tr.CloseIdleConnections()
	lifeCtx, cancel := context.WithTimeout(ctx, life)
	defer cancel()
	var wg sync.WaitGroup
	for range sqsReceivers {
		wg.Go(func() { s.receive(lifeCtx, c, abrupt) })
	}
	wg.Wait()
}

func (s *sqsLoad) receive(ctx context.Context, c *sqs.Client, abrupt bool) {
	for n := 0; ctx.Err() == nil; n++ {
		rctx := ctx
		if !abrupt {
			rctx = context.WithoutCancel(ctx)
		}
		out, err := c.ReceiveMessage(rctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.url),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				sleepCtx(ctx, 100*time.Millisecond)
			}
			continue
		}
		var del []types.DeleteMessageBatchRequestEntry
		for i, m := range out.Messages {
			s.t.deliver(s.prefix, []byte(aws.ToString(m.Body)))
			if (n+i)%50 == 49 {
				continue // left to come back
			}
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if len(del) > 0 {
			_, _ = c.DeleteMessageBatch(context.Background(), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(s.url), Entries: del})
		}
	}
}

// snsLoad publishes to a topic with a raw-delivery SQS subscription and
// consumes that queue as sqsLoad does.
type snsLoad struct {
	*sqsLoad
	topic string
}

func newSNSLoad(addr string) *snsLoad {
	return &snsLoad{sqsLoad: &sqsLoad{addr: addr, queue: "soak-sns", prefix: "n", t: newTally("sns")}}
}

func (s *snsLoad) client() *sns.Client {
	cfg, _ := awsConfig(s.addr)
	return sns.NewFromConfig(cfg)
}

func (s *snsLoad) setup(ctx context.Context) error {
	if err := s.sqsLoad.setup(ctx); err != nil {
		return err
	}
	q, _ := s.sqsLoad.client()
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return err
	}
	c := s.client()
	out, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("soak-topic")})
	if err != nil {
		return err
	}
	s.topic = aws.ToString(out.TopicArn)
	_, err = c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: out.TopicArn, Protocol: aws.String("sqs"),
		Endpoint:   aws.String(attrs.Attributes[string(types.QueueAttributeNameQueueArn)]),
		Attributes: map[string]string{"RawMessageDelivery": "true"}})
	return err
}

func (s *snsLoad) produce(ctx context.Context, rate float64) {
	c := s.client()
	pace(ctx, rate, 1, 8, func(int) {
		id := s.t.ids(1)
		_, err := c.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(s.topic),
			Message: aws.String(s.prefix + "-" + strconv.Itoa(id))})
		if err == nil {
			s.t.confirm(id)
		}
	})
}

const kinesisStream = "soak-stream"

// kinesisLoad puts batches of 20 records over two shards and reads them
// with GetRecords; each consumer life resumes after the last sequence
// number it checkpointed, or, one life in four, from TRIM_HORIZON (as a
// consumer that lost its checkpoint: everything again).
type kinesisLoad struct {
	addr       string
	t          *tally
	checkpoint map[string]string // shard → last sequence number read; only consume touches it
}

func newKinesisLoad(addr string) *kinesisLoad {
	return &kinesisLoad{addr: addr, t: newTally("kinesis"), checkpoint: map[string]string{}}
}

func (k *kinesisLoad) tally() *tally { return k.t }

func (k *kinesisLoad) client() (*kinesis.Client, *http.Transport) {
	cfg, tr := awsConfig(k.addr)
	return kinesis.NewFromConfig(cfg), tr
}

func (k *kinesisLoad) setup(ctx context.Context) error {
	c, _ := k.client()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(kinesisStream), ShardCount: aws.Int32(2)}); err != nil {
		return err
	}
	for ctx.Err() == nil {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(kinesisStream)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive {
			return nil
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
	return ctx.Err()
}

func (k *kinesisLoad) produce(ctx context.Context, rate float64) {
	c, _ := k.client()
	pace(ctx, rate, 20, 4, func(n int) {
		first := k.t.ids(n)
		entries := make([]ktypes.PutRecordsRequestEntry, n)
		for i := range entries {
			id := first + i
			entries[i] = ktypes.PutRecordsRequestEntry{Data: []byte("k-" + strconv.Itoa(id)),
				PartitionKey: aws.String("key-" + strconv.Itoa(id%16))}
		}
		out, err := c.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(kinesisStream), Records: entries})
		if err != nil {
			return
		}
		for i, r := range out.Records {
			if r.ErrorCode == nil {
				k.t.confirm(first + i)
			}
		}
	})
}

func (k *kinesisLoad) consume(ctx context.Context, life time.Duration, abrupt bool) {
	c, tr := k.client()
	defer tr.CloseIdleConnections()
	lifeCtx, cancel := context.WithTimeout(ctx, life)
	defer cancel()
	shards, err := c.ListShards(lifeCtx, &kinesis.ListShardsInput{StreamName: aws.String(kinesisStream)})
	if err != nil {
		return
	}
	fromStart := abrupt && len(k.checkpoint)%4 == 0 // now and then, everything again
	iters := map[string]*string{}
	for _, sh := range shards.Shards {
		in := &kinesis.GetShardIteratorInput{StreamName: aws.String(kinesisStream), ShardId: sh.ShardId,
			ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon}
		if seq := k.checkpoint[aws.ToString(sh.ShardId)]; seq != "" && !fromStart {
			in.ShardIteratorType, in.StartingSequenceNumber = ktypes.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
		}
		out, err := c.GetShardIterator(lifeCtx, in)
		if err != nil {
			return
		}
		iters[aws.ToString(sh.ShardId)] = out.ShardIterator
	}
	for lifeCtx.Err() == nil {
		for shard, it := range iters {
			out, err := c.GetRecords(lifeCtx, &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(1000)})
			if err != nil {
				continue // throttled or cut off: the same iterator again
			}
			for _, r := range out.Records {
				k.t.deliver("k", r.Data)
				k.checkpoint[shard] = aws.ToString(r.SequenceNumber)
			}
			iters[shard] = out.NextShardIterator
		}
		sleepCtx(lifeCtx, 250*time.Millisecond)
	}
}
