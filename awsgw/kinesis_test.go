package awsgw

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/require"
)

// kinesisClient returns a Kinesis SDK client for e with test/test.
func (e *testEnv) kinesisClient(t *testing.T) *kinesis.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithRetryMaxAttempts(1))
	require.NoError(t, err)
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(e.url) })
}

// testClock is a clock tests can move forward.
type testClock struct{ skew atomic.Int64 }

func (c *testClock) now() time.Time      { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *testClock) add(d time.Duration) { c.skew.Add(int64(d)) }
func kinesisEnv(t *testing.T, cfg Config) (*testEnv, *kinesis.Client) {
	e := newEnv(t, cfg)
	return e, e.kinesisClient(t)
}

func createStream(t *testing.T, kc *kinesis.Client, name string, shards int32) {
	t.Helper()
	_, err := kc.CreateStream(ctx(), &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)})
	require.NoError(t, err)
}

func TestKinesisStreamLifecycle(t *testing.T) {
	_, kc := kinesisEnv(t, Config{})
	createStream(t, kc, "s1", 3)
	_, err := kc.CreateStream(ctx(), &kinesis.CreateStreamInput{StreamName: aws.String("s1"), ShardCount: aws.Int32(1)})
	apiErr(t, err, "ResourceInUseException", "Stream s1 under account 000000000000 already exists.", 400)

	d, err := kc.DescribeStream(ctx(), &kinesis.DescribeStreamInput{StreamName: aws.String("s1")})
	require.NoError(t, err)
	sd := d.StreamDescription
	require.Equal(t, types.StreamStatusActive, sd.StreamStatus)
	require.Equal(t, "arn:aws:kinesis:us-east-1:000000000000:stream/s1", *sd.StreamARN)
	require.Len(t, sd.Shards, 3)
	require.Equal(t, "shardId-000000000000", *sd.Shards[0].ShardId)
	require.Equal(t, "0", *sd.Shards[0].HashKeyRange.StartingHashKey)
	require.Equal(t, "340282366920938463463374607431768211455", *sd.Shards[2].HashKeyRange.EndingHashKey)
	require.Len(t, *sd.Shards[0].SequenceNumberRange.StartingSequenceNumber, 56)
	require.Equal(t, int32(24), *sd.RetentionPeriodHours)
	require.Equal(t, types.EncryptionTypeNone, sd.EncryptionType)
	require.WithinDuration(t, time.Now(), *sd.StreamCreationTimestamp, time.Minute)

	d, err = kc.DescribeStream(ctx(), &kinesis.DescribeStreamInput{StreamName: aws.String("s1"), Limit: aws.Int32(2)})
	require.NoError(t, err)
	require.Len(t, d.StreamDescription.Shards, 2)
	require.True(t, *d.StreamDescription.HasMoreShards)

	sum, err := kc.DescribeStreamSummary(ctx(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s1")})
	require.NoError(t, err)
	require.Equal(t, int32(3), *sum.StreamDescriptionSummary.OpenShardCount)

	for i := 0; i < 3; i++ {
		createStream(t, kc, fmt.Sprintf("t%d", i), 1)
	}
	ls, err := kc.ListStreams(ctx(), &kinesis.ListStreamsInput{Limit: aws.Int32(2)})
	require.NoError(t, err)
	require.Equal(t, []string{"s1", "t0"}, ls.StreamNames)
	require.True(t, *ls.HasMoreStreams)
	require.Len(t, ls.StreamSummaries, 2)
	ls, err = kc.ListStreams(ctx(), &kinesis.ListStreamsInput{NextToken: ls.NextToken})
	require.NoError(t, err)
	require.Equal(t, []string{"t1", "t2"}, ls.StreamNames)
	require.False(t, *ls.HasMoreStreams)

	lsh, err := kc.ListShards(ctx(), &kinesis.ListShardsInput{StreamName: aws.String("s1"), MaxResults: aws.Int32(2)})
	require.NoError(t, err)
	require.Len(t, lsh.Shards, 2)
	require.NotNil(t, lsh.NextToken)
	lsh, err = kc.ListShards(ctx(), &kinesis.ListShardsInput{NextToken: lsh.NextToken})
	require.NoError(t, err)
	require.Len(t, lsh.Shards, 1)
	require.Nil(t, lsh.NextToken)
	_, err = kc.ListShards(ctx(), &kinesis.ListShardsInput{})
	apiErr(t, err, "InvalidArgumentException", "Either NextToken or StreamName should be provided.", 400)
	lsh, err = kc.ListShards(ctx(), &kinesis.ListShardsInput{StreamName: aws.String("s1"),
		ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String("shardId-000000000000")}})
	require.NoError(t, err)
	require.Len(t, lsh.Shards, 2)

	_, err = kc.DeleteStream(ctx(), &kinesis.DeleteStreamInput{StreamName: aws.String("s1")})
	require.NoError(t, err)
	_, err = kc.DescribeStream(ctx(), &kinesis.DescribeStreamInput{StreamName: aws.String("s1")})
	apiErr(t, err, "ResourceNotFoundException", "Stream s1 under account 000000000000 not found.", 400)
	_, err = kc.DeleteStream(ctx(), &kinesis.DeleteStreamInput{StreamName: aws.String("s1")})
	apiErr(t, err, "ResourceNotFoundException", "Stream s1 under account 000000000000 not found.", 400)
}

func TestKinesisStreamSettings(t *testing.T) {
	_, kc := kinesisEnv(t, Config{})
	createStream(t, kc, "s", 1)
	name := aws.String("s")

	_, err := kc.IncreaseStreamRetentionPeriod(ctx(), &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(48)})
	require.NoError(t, err)
	_, err = kc.IncreaseStreamRetentionPeriod(ctx(), &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(30)})
	apiErr(t, err, "InvalidArgumentException", "Requested retention period (30 hours) for stream s can not be shorter than existing retention period (48 hours). Use DecreaseRetentionPeriod API.", 400)
	_, err = kc.DecreaseStreamRetentionPeriod(ctx(), &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(12)})
	apiErr(t, err, "InvalidArgumentException", "Minimum allowed retention period is 24 hours. Requested retention period (12 hours) is too short.", 400)
	_, err = kc.DecreaseStreamRetentionPeriod(ctx(), &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(36)})
	require.NoError(t, err)
	_, err = kc.IncreaseStreamRetentionPeriod(ctx(), &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: name, RetentionPeriodHours: aws.Int32(9000)})
	apiErr(t, err, "ValidationException", "1 validation error detected: Value '9000' at 'retentionPeriodHours' failed to satisfy constraint: Member must have value less than or equal to 8760", 400)

	_, err = kc.AddTagsToStream(ctx(), &kinesis.AddTagsToStreamInput{StreamName: name, Tags: map[string]string{"b": "2", "a": "1", "c": "3"}})
	require.NoError(t, err)
	_, err = kc.RemoveTagsFromStream(ctx(), &kinesis.RemoveTagsFromStreamInput{StreamName: name, TagKeys: []string{"c"}})
	require.NoError(t, err)
	tags, err := kc.ListTagsForStream(ctx(), &kinesis.ListTagsForStreamInput{StreamName: name, Limit: aws.Int32(1)})
	require.NoError(t, err)
	require.Equal(t, "a", *tags.Tags[0].Key)
	require.True(t, *tags.HasMoreTags)
	tags, err = kc.ListTagsForStream(ctx(), &kinesis.ListTagsForStreamInput{StreamName: name, ExclusiveStartTagKey: aws.String("a")})
	require.NoError(t, err)
	require.Len(t, tags.Tags, 1)
	require.Equal(t, "2", *tags.Tags[0].Value)
	_, err = kc.AddTagsToStream(ctx(), &kinesis.AddTagsToStreamInput{StreamName: name, Tags: map[string]string{"x": "a#b"}})
	apiErr(t, err, "InvalidArgumentException", "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.", 400)

	_, err = kc.StartStreamEncryption(ctx(), &kinesis.StartStreamEncryptionInput{StreamName: name, EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")})
	require.NoError(t, err)
	sum, err := kc.DescribeStreamSummary(ctx(), &kinesis.DescribeStreamSummaryInput{StreamName: name})
	require.NoError(t, err)
	s := sum.StreamDescriptionSummary
	require.Equal(t, types.EncryptionTypeKms, s.EncryptionType)
	require.Equal(t, "alias/aws/kinesis", *s.KeyId)
	require.Equal(t, int32(36), *s.RetentionPeriodHours)
	put, err := kc.PutRecord(ctx(), &kinesis.PutRecordInput{StreamName: name, PartitionKey: aws.String("k"), Data: []byte("x")})
	require.NoError(t, err)
	require.Equal(t, types.EncryptionTypeKms, put.EncryptionType)
	_, err = kc.StopStreamEncryption(ctx(), &kinesis.StopStreamEncryptionInput{StreamName: name, EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")})
	require.NoError(t, err)

	mon, err := kc.EnableEnhancedMonitoring(ctx(), &kinesis.EnableEnhancedMonitoringInput{StreamName: name, ShardLevelMetrics: []types.MetricsName{types.MetricsNameIncomingBytes}})
	require.NoError(t, err)
	require.Empty(t, mon.CurrentShardLevelMetrics)
	require.Equal(t, []types.MetricsName{types.MetricsNameIncomingBytes}, mon.DesiredShardLevelMetrics)
	dis, err := kc.DisableEnhancedMonitoring(ctx(), &kinesis.DisableEnhancedMonitoringInput{StreamName: name, ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}})
	require.NoError(t, err)
	require.Empty(t, dis.DesiredShardLevelMetrics)

	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s")
	_, err = kc.UpdateStreamMode(ctx(), &kinesis.UpdateStreamModeInput{StreamARN: arn, StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
	require.NoError(t, err)
	sum, err = kc.DescribeStreamSummary(ctx(), &kinesis.DescribeStreamSummaryInput{StreamARN: arn})
	require.NoError(t, err)
	require.Equal(t, types.StreamModeOnDemand, sum.StreamDescriptionSummary.StreamModeDetails.StreamMode)

	lim, err := kc.DescribeLimits(ctx(), &kinesis.DescribeLimitsInput{})
	require.NoError(t, err)
	require.Equal(t, int32(500), *lim.ShardLimit)
	require.Equal(t, int32(1), *lim.OpenShardCount)
	require.Equal(t, int32(1), *lim.OnDemandStreamCount)
	_, err = kc.CreateStream(ctx(), &kinesis.CreateStreamInput{StreamName: aws.String("big"), ShardCount: aws.Int32(100000)})
	apiErr(t, err, "LimitExceededException", "", 400)
}

func TestKinesisConsumers(t *testing.T) {
	_, kc := kinesisEnv(t, Config{})
	createStream(t, kc, "s", 1)
	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s")
	reg, err := kc.RegisterStreamConsumer(ctx(), &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("c1")})
	require.NoError(t, err)
	require.Contains(t, *reg.Consumer.ConsumerARN, "stream/s/consumer/c1:")
	_, err = kc.RegisterStreamConsumer(ctx(), &kinesis.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("c1")})
	apiErr(t, err, "ResourceInUseException", "", 400)
	desc, err := kc.DescribeStreamConsumer(ctx(), &kinesis.DescribeStreamConsumerInput{ConsumerARN: reg.Consumer.ConsumerARN})
	require.NoError(t, err)
	require.Equal(t, *arn, *desc.ConsumerDescription.StreamARN)
	require.Equal(t, types.ConsumerStatusActive, desc.ConsumerDescription.ConsumerStatus)
	list, err := kc.ListStreamConsumers(ctx(), &kinesis.ListStreamConsumersInput{StreamARN: arn})
	require.NoError(t, err)
	require.Len(t, list.Consumers, 1)
	_, err = kc.DeleteStream(ctx(), &kinesis.DeleteStreamInput{StreamName: aws.String("s")})
	apiErr(t, err, "ResourceInUseException", "", 400)
	_, err = kc.DeregisterStreamConsumer(ctx(), &kinesis.DeregisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("c1")})
	require.NoError(t, err)
	_, err = kc.DescribeStreamConsumer(ctx(), &kinesis.DescribeStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("c1")})
	apiErr(t, err, "ResourceNotFoundException", "", 400)
}

func TestKinesisValidation(t *testing.T) {
	_, kc := kinesisEnv(t, Config{})
	createStream(t, kc, "s", 1)
	cases := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"bad name", func() error {
			_, err := kc.CreateStream(ctx(), &kinesis.CreateStreamInput{StreamName: aws.String("a b"), ShardCount: aws.Int32(1)})
			return err
		}, "ValidationException", "1 validation error detected: Value 'a b' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
		{"two errors", func() error {
			_, err := kc.CreateStream(ctx(), &kinesis.CreateStreamInput{StreamName: aws.String(""), ShardCount: aws.Int32(0)})
			return err
		}, "ValidationException", "3 validation errors detected: Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
			"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
			"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"empty partition key", func() error {
			_, err := kc.PutRecord(ctx(), &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String(""), Data: []byte("x")})
			return err
		}, "ValidationException", "1 validation error detected: Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"data too big", func() error {
			_, err := kc.PutRecord(ctx(), &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: make([]byte, maxRecordData+1)})
			return err
		}, "ValidationException", "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576"},
		{"bad explicit hash key", func() error {
			_, err := kc.PutRecord(ctx(), &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("x"),
				ExplicitHashKey: aws.String("340282366920938463463374607431768211456")})
			return err
		}, "InvalidArgumentException", "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was 340282366920938463463374607431768211456"},
		{"too many records", func() error {
			recs := make([]types.PutRecordsRequestEntry, 501)
			for i := range recs {
				recs[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: []byte("x")}
			}
			_, err := kc.PutRecords(ctx(), &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: recs})
			return err
		}, "ValidationException", ""},
		{"record key", func() error {
			_, err := kc.PutRecords(ctx(), &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{
				{PartitionKey: aws.String("k"), Data: []byte("x")}, {PartitionKey: aws.String(""), Data: []byte("x")}}})
			return err
		}, "ValidationException", "1 validation error detected: Value '' at 'records.2.member.partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"missing stream", func() error {
			_, err := kc.PutRecord(ctx(), &kinesis.PutRecordInput{StreamName: aws.String("nope"), PartitionKey: aws.String("k"), Data: []byte("x")})
			return err
		}, "ResourceNotFoundException", "Stream nope under account 000000000000 not found."},
		{"no stream name", func() error {
			_, err := kc.DescribeStream(ctx(), &kinesis.DescribeStreamInput{})
			return err
		}, "ValidationException", "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null"},
		{"bad shard", func() error {
			_, err := kc.GetShardIterator(ctx(), &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000009"),
				ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			return err
		}, "ResourceNotFoundException", "Shard shardId-000000000009 in stream s under account 000000000000 does not exist"},
		{"bad iterator type", func() error {
			_, err := kc.GetShardIterator(ctx(), &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
				ShardIteratorType: "FIRST"})
			return err
		}, "ValidationException", "1 validation error detected: Value 'FIRST' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"},
		{"forged iterator", func() error {
			_, err := kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: aws.String("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")})
			return err
		}, "InvalidArgumentException", "Invalid ShardIterator."},
		{"limit", func() error {
			_, err := kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: aws.String("x"), Limit: aws.Int32(10001)})
			return err
		}, "ValidationException", "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { apiErr(t, c.call(), c.code, c.msg, 400) })
	}
}
