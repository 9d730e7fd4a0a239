package awsgw

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/schemas"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/stretchr/testify/require"
)

// protoRecorder records the HTTP protocol of every response.
type protoRecorder struct {
	rt     http.RoundTripper
	protos atomic.Value // string: the last response's Proto
}

func (p *protoRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.rt.RoundTrip(r)
	if err == nil {
		p.protos.Store(resp.Proto)
	}
	return resp, err
}

// kinesisClientAt returns a Kinesis client for endpoint over rt.
func kinesisClientAt(endpoint string, rt http.RoundTripper) *kinesis.Client {
	return kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		HTTPClient: &http.Client{Transport: rt}, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// h2TLS is a transport speaking HTTP/2 over TLS to a server pool trusts.
func h2TLS(pool *x509.CertPool) *protoRecorder {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	return &protoRecorder{rt: tr}
}

// subscribeEnv is a TLS gateway with stream s (1 shard) and a registered
// consumer c, and a client over HTTP/2.
func subscribeEnv(t *testing.T, cfg Config) (*testEnv, *kinesis.Client, *protoRecorder, string) {
	tc, pool := selfSigned(t)
	cfg.TLS, cfg.KinesisNoLimits = tc, true
	e := newEnv(t, cfg)
	rec := h2TLS(pool)
	kc := kinesisClientAt(strings.Replace(e.url, "http://", "https://", 1), rec)
	createStream(t, kc, "s", 1)
	reg, err := kc.RegisterStreamConsumer(ctx(), &kinesis.RegisterStreamConsumerInput{
		StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s"), ConsumerName: aws.String("c")})
	require.NoError(t, err)
	require.Equal(t, types.ConsumerStatusActive, reg.Consumer.ConsumerStatus)
	return e, kc, rec, *reg.Consumer.ConsumerARN
}

func putN(t *testing.T, kc *kinesis.Client, from, n int) []string {
	t.Helper()
	var seqs []string
	for i := from; i < from+n; i++ {
		out, err := kc.PutRecord(ctx(), &kinesis.PutRecordInput{StreamName: aws.String("s"),
			PartitionKey: aws.String("k"), Data: fmt.Appendf(nil, "r%d", i)})
		require.NoError(t, err)
		seqs = append(seqs, *out.SequenceNumber)
	}
	return seqs
}

// nextEvent waits for the next SubscribeToShardEvent.
func nextEvent(t *testing.T, es *kinesis.SubscribeToShardEventStream) types.SubscribeToShardEvent {
	t.Helper()
	select {
	case ev, ok := <-es.Events():
		require.True(t, ok, "stream ended: %v", es.Err())
		m, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		require.True(t, ok, "event %T", ev)
		return m.Value
	case <-time.After(3 * time.Second):
		t.Fatal("no event within 3 s")
	}
	return types.SubscribeToShardEvent{}
}

// readRecords reads events until n records came; it returns their data
// and the last continuation sequence number.
func readRecords(t *testing.T, es *kinesis.SubscribeToShardEventStream, n int) (data []string, cont string) {
	t.Helper()
	for len(data) < n {
		ev := nextEvent(t, es)
		for _, r := range ev.Records {
			data = append(data, string(r.Data))
		}
		require.NotNil(t, ev.ContinuationSequenceNumber)
		cont = *ev.ContinuationSequenceNumber
	}
	require.Len(t, data, n)
	return data, cont
}

// subscribe calls SubscribeToShard with a protocol of its own: the
// SDK's event stream codec reuses one payload buffer, so concurrent
// streams sharing a client's protocol race inside the SDK.
func subscribe(kc *kinesis.Client, arn string, pos types.StartingPosition) (*kinesis.SubscribeToShardOutput, error) {
	return kc.SubscribeToShard(ctx(), &kinesis.SubscribeToShardInput{ConsumerARN: aws.String(arn),
		ShardId: aws.String("shardId-000000000000"), StartingPosition: &pos},
		func(o *kinesis.Options) { o.Protocol = awsjson.New11(schemas.Kinesis_20131202) })
}

// TestSubscribeToShard: records put before (TRIM_HORIZON) and while
// subscribed are pushed over HTTP/2 with continuation sequence numbers;
// a second subscription within 5 s and an unregistered consumer are
// refused; AFTER_SEQUENCE_NUMBER resumes from a continuation number.
func TestSubscribeToShard(t *testing.T) {
	_, kc, rec, arn := subscribeEnv(t, Config{})
	seqs := putN(t, kc, 0, 3)
	out, err := subscribe(kc, arn, types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	require.NoError(t, err)
	require.Equal(t, "HTTP/2.0", rec.protos.Load())
	es := out.GetStream()
	defer es.Close()
	data, cont := readRecords(t, es, 3)
	require.Equal(t, []string{"r0", "r1", "r2"}, data)
	require.Equal(t, seqs[2], cont)

	seqs = append(seqs, putN(t, kc, 3, 2)...) // pushed while subscribed
	data, cont = readRecords(t, es, 2)
	require.Equal(t, []string{"r3", "r4"}, data)
	require.Equal(t, seqs[4], cont)

	_, err = subscribe(kc, arn, types.StartingPosition{Type: types.ShardIteratorTypeLatest})
	var inUse *types.ResourceInUseException
	require.ErrorAs(t, err, &inUse)
	require.Equal(t, "Another active subscription exists for this consumer: "+arn, inUse.ErrorMessage())

	gone := strings.Replace(arn, "/consumer/c:", "/consumer/nobody:", 1)
	_, err = subscribe(kc, gone, types.StartingPosition{Type: types.ShardIteratorTypeLatest})
	var notFound *types.ResourceNotFoundException
	require.ErrorAs(t, err, &notFound)
	apiErr(t, err, "ResourceNotFoundException", "", 400)
	es.Close()

	// A new consumer resumes after a continuation number.
	reg, err := kc.RegisterStreamConsumer(ctx(), &kinesis.RegisterStreamConsumerInput{
		StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s"), ConsumerName: aws.String("d")})
	require.NoError(t, err)
	out, err = subscribe(kc, *reg.Consumer.ConsumerARN, types.StartingPosition{
		Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(seqs[2])})
	require.NoError(t, err)
	es2 := out.GetStream()
	defer es2.Close()
	data, _ = readRecords(t, es2, 2)
	require.Equal(t, []string{"r3", "r4"}, data)
}

// TestSubscribeToShardTakeoverAndLifetime: a subscription 5 s or more
// after another takes over (the first ends with ResourceInUseException),
// and a subscription ends at its lifetime.
func TestSubscribeToShardTakeoverAndLifetime(t *testing.T) {
	clock := &testClock{}
	_, kc, _, arn := subscribeEnv(t, Config{Now: clock.now})
	first, err := subscribe(kc, arn, types.StartingPosition{Type: types.ShardIteratorTypeLatest})
	require.NoError(t, err)
	es1 := first.GetStream()
	defer es1.Close()
	ev := nextEvent(t, es1) // the first event comes at once, records or not
	require.Empty(t, ev.Records)

	clock.add(6 * time.Second)
	old := subscriptionLifetime.Swap(int64(500 * time.Millisecond))
	defer subscriptionLifetime.Store(old)
	second, err := subscribe(kc, arn, types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	require.NoError(t, err)
	es2 := second.GetStream()
	defer es2.Close()
	for range es1.Events() {
	}
	var inUse *types.ResourceInUseException
	require.ErrorAs(t, es1.Err(), &inUse)

	start := time.Now()
	for range es2.Events() {
	}
	require.NoError(t, es2.Err())
	require.Less(t, time.Since(start), 3*time.Second)
}

// TestSubscribeToShardH2C: cleartext HTTP/2 (prior knowledge) on the
// plain port, and a validation error as an HTTP 400.
func TestSubscribeToShardH2C(t *testing.T) {
	e, kc, _, arn := subscribeEnv(t, Config{})
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	rec := &protoRecorder{rt: tr}
	h2c := kinesisClientAt(e.url, rec)
	putN(t, kc, 0, 1)
	out, err := subscribe(h2c, arn, types.StartingPosition{Type: types.ShardIteratorTypeAtSequenceNumber,
		SequenceNumber: aws.String(putN(t, kc, 1, 1)[0])})
	require.NoError(t, err)
	require.Equal(t, "HTTP/2.0", rec.protos.Load())
	es := out.GetStream()
	defer es.Close()
	data, _ := readRecords(t, es, 1)
	require.Equal(t, []string{"r1"}, data)

	_, err = subscribe(h2c, arn, types.StartingPosition{Type: "NOPE"})
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae))
	require.Equal(t, "ValidationException", ae.ErrorCode())
}

// TestSubscribeToShardEndsAtShutdown: Shutdown ends open subscriptions
// (the event stream ends) instead of waiting out their 5 minutes.
func TestSubscribeToShardEndsAtShutdown(t *testing.T) {
	e, kc, _, arn := subscribeEnv(t, Config{})
	out, err := subscribe(kc, arn, types.StartingPosition{Type: types.ShardIteratorTypeLatest})
	require.NoError(t, err)
	es := out.GetStream()
	defer es.Close()
	nextEvent(t, es)
	start := time.Now()
	shut, cancel := context.WithTimeout(ctx(), 3*time.Second)
	defer cancel()
	require.NoError(t, e.srv.Shutdown(shut))
	for range es.Events() {
	}
	require.Less(t, time.Since(start), 2*time.Second)
}

// TestKinesisEmptyShardContinuation: on a shard never written, the
// continuation number of a subscription and the shard's
// StartingSequenceNumber stand before the first record, as on AWS:
// resuming AFTER either reads that record instead of skipping it, and
// every record's number is above them.
func TestKinesisEmptyShardContinuation(t *testing.T) {
	_, kc, _, arn := subscribeEnv(t, Config{})
	out, err := subscribe(kc, arn, types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	require.NoError(t, err)
	es := out.GetStream()
	ev := nextEvent(t, es)
	require.Empty(t, ev.Records)
	require.NotNil(t, ev.ContinuationSequenceNumber)
	cont := *ev.ContinuationSequenceNumber
	es.Close()

	desc, err := kc.DescribeStream(ctx(), &kinesis.DescribeStreamInput{StreamName: aws.String("s")})
	require.NoError(t, err)
	start := *desc.StreamDescription.Shards[0].SequenceNumberRange.StartingSequenceNumber
	require.Equal(t, start, cont)

	seqs := putN(t, kc, 0, 2)
	require.NotEqual(t, cont, seqs[0])
	require.Less(t, cont, seqs[0]) // same length: string order is numeric order
	require.Less(t, seqs[0], seqs[1])

	shard := "shardId-000000000000"
	for _, c := range []struct {
		typ  types.ShardIteratorType
		seq  string
		want []string
	}{
		{types.ShardIteratorTypeAfterSequenceNumber, cont, []string{"r0", "r1"}},
		{types.ShardIteratorTypeAtSequenceNumber, start, []string{"r0", "r1"}},
		{types.ShardIteratorTypeAtSequenceNumber, seqs[0], []string{"r0", "r1"}},
		{types.ShardIteratorTypeAfterSequenceNumber, seqs[0], []string{"r1"}},
		{types.ShardIteratorTypeAtSequenceNumber, seqs[1], []string{"r1"}},
		{types.ShardIteratorTypeAfterSequenceNumber, seqs[1], nil},
	} {
		got, err := kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: iter(t, kc, "s", shard, c.typ, aws.String(c.seq), nil)})
		require.NoError(t, err)
		var data []string
		for _, r := range got.Records {
			data = append(data, string(r.Data))
		}
		require.Equal(t, c.want, data, "%s %s", c.typ, c.seq)
	}

	// A subscription (of another consumer: the first holds the shard for
	// 5 s) resuming AFTER the empty shard's continuation number gets the
	// first record.
	reg, err := kc.RegisterStreamConsumer(ctx(), &kinesis.RegisterStreamConsumerInput{
		StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s"), ConsumerName: aws.String("e")})
	require.NoError(t, err)
	out, err = subscribe(kc, *reg.Consumer.ConsumerARN, types.StartingPosition{
		Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(cont)})
	require.NoError(t, err)
	es2 := out.GetStream()
	defer es2.Close()
	data, last := readRecords(t, es2, 2)
	require.Equal(t, []string{"r0", "r1"}, data)
	require.Equal(t, seqs[1], last)
}

// frozenClock is a clock that moves only when told.
type frozenClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *frozenClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *frozenClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestSubscribeToShardFanoutLimit: with limits on, a consumer gets at
// most 2 MiB per second of the broker's clock over SubscribeToShard.
// The clock stands still: 3 MiB are put (in three seconds of it), the
// subscription pushes what 2 MiB pay for, in events of at most 1 MiB,
// and the consumer's bucket shows 2 MiB charged and too little left for
// the next record; once the clock moves a second, the rest comes, in
// order. No wall-clock rate is measured.
func TestSubscribeToShardFanoutLimit(t *testing.T) {
	clock := &frozenClock{t: time.Now()}
	e := newEnv(t, Config{Now: clock.now})
	kc := e.kinesisClient(t)
	createStream(t, kc, "s", 1)
	reg, err := kc.RegisterStreamConsumer(ctx(), &kinesis.RegisterStreamConsumerInput{
		StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s"), ConsumerName: aws.String("c")})
	require.NoError(t, err)
	arn := *reg.Consumer.ConsumerARN

	const size, n = 100 << 10, 30
	for s := 0; s < n/10; s++ { // the shard takes 1 MiB/s in
		var entries []types.PutRecordsRequestEntry
		for i := s * 10; i < s*10+10; i++ {
			data := make([]byte, size)
			copy(data, fmt.Sprintf("r%02d", i))
			entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: data})
		}
		out, err := kc.PutRecords(ctx(), &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: entries})
		require.NoError(t, err)
		require.Zero(t, aws.ToInt32(out.FailedRecordCount))
		clock.add(time.Second)
	}

	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	h2c := kinesisClientAt(e.url, &protoRecorder{rt: tr})
	out, err := subscribe(h2c, arn, types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	require.NoError(t, err)
	es := out.GetStream()
	defer es.Close()
	var got []string
	recv := func(want int) {
		for len(got) < want {
			ev := nextEvent(t, es)
			bytes := 0
			for _, r := range ev.Records {
				bytes += len(r.Data) + len(aws.ToString(r.PartitionKey))
				got = append(got, string(r.Data[:3]))
			}
			require.LessOrEqual(t, bytes, subscribeMaxBytes, "one event")
		}
	}
	recv(20) // 2 MiB pays for 20 records of 100 KiB
	created := arn[strings.LastIndexByte(arn, ':')+1:]
	key := "/\x00s\x00shardId-000000000000\x00c:" + created
	e.srv.kin.lim.mu.Lock()
	b := *e.srv.kin.lim.fanout[key]
	e.srv.kin.lim.mu.Unlock()
	require.LessOrEqual(t, b.sent, int64(limitFanoutBytes), "charged while the clock stood still")
	require.GreaterOrEqual(t, b.sent, int64(20*size))
	require.GreaterOrEqual(t, b.tokens, 0.0)
	require.Less(t, b.tokens, float64(size), "the next record is not paid for")
	require.Len(t, got, 20, "no record beyond the allowance")

	clock.add(time.Second)
	recv(n)
	for i, r := range got {
		require.Equal(t, fmt.Sprintf("r%02d", i), r)
	}

	// Deregistering the consumer forgets its buckets.
	es.Close()
	require.Eventually(t, func() bool { // the subscription has ended on the server
		e.srv.kinSubs.mu.Lock()
		defer e.srv.kinSubs.mu.Unlock()
		return len(e.srv.kinSubs.m) == 0
	}, 10*time.Second, 10*time.Millisecond)
	_, err = kc.DeregisterStreamConsumer(ctx(), &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(arn)})
	require.NoError(t, err)
	e.srv.kin.lim.mu.Lock()
	require.Empty(t, e.srv.kin.lim.fanout)
	e.srv.kin.lim.mu.Unlock()
}
