package awsgw

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/route"
)

func iter(t *testing.T, kc *kinesis.Client, stream, shard string, typ types.ShardIteratorType, seq *string, ts *time.Time) *string {
	t.Helper()
	out, err := kc.GetShardIterator(ctx(), &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
		ShardId: aws.String(shard), ShardIteratorType: typ, StartingSequenceNumber: seq, Timestamp: ts})
	require.NoError(t, err)
	return out.ShardIterator
}

func TestKinesisPutGet(t *testing.T) {
	clock := &testClock{}
	_, kc := kinesisEnv(t, Config{Now: clock.now, KinesisNoLimits: true})
	createStream(t, kc, "s", 1)
	shard := "shardId-000000000000"
	latest := iter(t, kc, "s", shard, types.ShardIteratorTypeLatest, nil, nil)
	var seqs []string
	for i := 0; i < 3; i++ {
		out, err := kc.PutRecord(ctx(), &kinesis.PutRecordInput{StreamName: aws.String("s"),
			PartitionKey: aws.String(fmt.Sprintf("k%d", i)), Data: []byte(fmt.Sprintf("d%d", i))})
		require.NoError(t, err)
		require.Equal(t, shard, *out.ShardId)
		require.Len(t, *out.SequenceNumber, 56)
		seqs = append(seqs, *out.SequenceNumber)
	}
	require.Less(t, seqs[0], seqs[1])
	batch, err := kc.PutRecords(ctx(), &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{
		{PartitionKey: aws.String("k3"), Data: []byte("d3")}, {PartitionKey: aws.String("k4"), Data: []byte("d4"), ExplicitHashKey: aws.String("7")}}})
	require.NoError(t, err)
	require.Equal(t, int32(0), *batch.FailedRecordCount)
	require.Len(t, batch.Records, 2)

	got, err := kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: latest})
	require.NoError(t, err)
	require.Len(t, got.Records, 5)
	require.Equal(t, "d0", string(got.Records[0].Data))
	require.Equal(t, "k0", *got.Records[0].PartitionKey)
	require.Equal(t, seqs[0], *got.Records[0].SequenceNumber)
	require.WithinDuration(t, time.Now(), *got.Records[0].ApproximateArrivalTimestamp, time.Minute)
	require.Equal(t, int64(0), *got.MillisBehindLatest)
	require.NotNil(t, got.NextShardIterator)
	empty, err := kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: got.NextShardIterator})
	require.NoError(t, err)
	require.Empty(t, empty.Records)

	cases := []struct {
		typ   types.ShardIteratorType
		seq   *string
		ts    *time.Time
		first string
		n     int
	}{
		{types.ShardIteratorTypeTrimHorizon, nil, nil, "d0", 5},
		{types.ShardIteratorTypeAtSequenceNumber, &seqs[1], nil, "d1", 4},
		{types.ShardIteratorTypeAfterSequenceNumber, &seqs[1], nil, "d2", 3},
		{types.ShardIteratorTypeAtTimestamp, nil, aws.Time(time.Now().Add(-time.Hour)), "d0", 5},
		{types.ShardIteratorTypeLatest, nil, nil, "", 0},
	}
	for _, c := range cases {
		t.Run(string(c.typ), func(t *testing.T) {
			out, err := kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: iter(t, kc, "s", shard, c.typ, c.seq, c.ts), Limit: aws.Int32(10)})
			require.NoError(t, err)
			require.Len(t, out.Records, c.n)
			if c.n > 0 {
				require.Equal(t, c.first, string(out.Records[0].Data))
			}
		})
	}
	limited, err := kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: iter(t, kc, "s", shard, types.ShardIteratorTypeTrimHorizon, nil, nil), Limit: aws.Int32(2)})
	require.NoError(t, err)
	require.Len(t, limited.Records, 2)
	require.Greater(t, *limited.MillisBehindLatest, int64(-1))

	_, err = kc.GetShardIterator(ctx(), &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String(shard),
		ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber})
	apiErr(t, err, "InvalidArgumentException", "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber.", 400)
	_, err = kc.GetShardIterator(ctx(), &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String(shard),
		ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String("12345")})
	apiErr(t, err, "InvalidArgumentException", "StartingSequenceNumber 12345 used in GetShardIterator on shard shardId-000000000000 in stream s under account 000000000000 is invalid.", 400)
	_, err = kc.GetShardIterator(ctx(), &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String(shard),
		ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(time.Now().Add(time.Hour))})
	apiErr(t, err, "InvalidArgumentException", "", 400)

	old := iter(t, kc, "s", shard, types.ShardIteratorTypeTrimHorizon, nil, nil)
	clock.add(6 * time.Minute)
	_, err = kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: old})
	apiErr(t, err, "ExpiredIteratorException", "", 400)
	tampered := []byte(*iter(t, kc, "s", shard, types.ShardIteratorTypeTrimHorizon, nil, nil))
	tampered[10] ^= 1
	_, err = kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: aws.String(string(tampered))})
	apiErr(t, err, "InvalidArgumentException", "Invalid ShardIterator.", 400)
}

func TestKinesisThroughputLimits(t *testing.T) {
	_, kc := kinesisEnv(t, Config{})
	createStream(t, kc, "s", 1)
	it := iter(t, kc, "s", "shardId-000000000000", types.ShardIteratorTypeTrimHorizon, nil, nil)
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		_, err = kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: it})
	}
	apiErr(t, err, "ProvisionedThroughputExceededException",
		"Rate exceeded for shard shardId-000000000000 in stream s under account 000000000000.", 400)

	recs := make([]types.PutRecordsRequestEntry, 500)
	for i := range recs {
		recs[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: make([]byte, 3000)}
	}
	out, err := kc.PutRecords(ctx(), &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: recs})
	require.NoError(t, err)
	// 1 MiB/s admits about 349 records of 3,000 bytes (the in-memory
	// store of the tests holds values up to 4 KiB).
	require.Greater(t, *out.FailedRecordCount, int32(100))
	last := out.Records[499]
	require.Equal(t, "ProvisionedThroughputExceededException", *last.ErrorCode)
	require.Nil(t, last.SequenceNumber)

	_, kc = kinesisEnv(t, Config{KinesisNoLimits: true})
	createStream(t, kc, "s", 1)
	out, err = kc.PutRecords(ctx(), &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: recs})
	require.NoError(t, err)
	require.Equal(t, int32(0), *out.FailedRecordCount)
}

// readShard reads a shard from TRIM_HORIZON to its end (closed) or tip.
func readShard(t *testing.T, kc *kinesis.Client, stream, shard string) ([]types.Record, []types.ChildShard) {
	t.Helper()
	it := iter(t, kc, stream, shard, types.ShardIteratorTypeTrimHorizon, nil, nil)
	var recs []types.Record
	for {
		out, err := kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(7)})
		require.NoError(t, err)
		recs = append(recs, out.Records...)
		if out.NextShardIterator == nil {
			return recs, out.ChildShards
		}
		if len(out.Records) == 0 {
			return recs, nil
		}
		it = out.NextShardIterator
	}
}

func TestKinesisResharding(t *testing.T) {
	_, kc := kinesisEnv(t, Config{KinesisNoLimits: true})
	createStream(t, kc, "s", 2)
	name := aws.String("s")
	next := map[string]int{}
	put := func(n int) {
		recs := make([]types.PutRecordsRequestEntry, n)
		for i := range recs {
			k := fmt.Sprintf("key-%d", i%13)
			recs[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(k), Data: []byte(fmt.Sprintf("%s/%d", k, next[k]))}
			next[k]++
		}
		out, err := kc.PutRecords(ctx(), &kinesis.PutRecordsInput{StreamName: name, Records: recs})
		require.NoError(t, err)
		require.Equal(t, int32(0), *out.FailedRecordCount)
	}
	put(60)
	_, err := kc.SplitShard(ctx(), &kinesis.SplitShardInput{StreamName: name, ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("85070591730234615865843651857942052864")})
	require.NoError(t, err)
	_, err = kc.SplitShard(ctx(), &kinesis.SplitShardInput{StreamName: name, ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("85070591730234615865843651857942052864")})
	apiErr(t, err, "InvalidArgumentException", "Shard shardId-000000000000 in stream s under account 000000000000 has already been merged or split, and thus is not eligible for merging or splitting.", 400)
	_, err = kc.SplitShard(ctx(), &kinesis.SplitShardInput{StreamName: name, ShardToSplit: aws.String("shardId-000000000001"), NewStartingHashKey: aws.String("1")})
	apiErr(t, err, "InvalidArgumentException", "NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000001 in stream s under account 000000000000 is not both greater than one plus the shard's StartingHashKey 170141183460469231731687303715884105728 and less than the shard's EndingHashKey 340282366920938463463374607431768211455.", 400)
	put(60)
	_, err = kc.MergeShards(ctx(), &kinesis.MergeShardsInput{StreamName: name, ShardToMerge: aws.String("shardId-000000000002"), AdjacentShardToMerge: aws.String("shardId-000000000001")})
	apiErr(t, err, "InvalidArgumentException", "Shards shardId-000000000002 and shardId-000000000001 in stream s under account 000000000000 are not an adjacent pair of shards eligible for merging", 400)
	_, err = kc.MergeShards(ctx(), &kinesis.MergeShardsInput{StreamName: name, ShardToMerge: aws.String("shardId-000000000003"), AdjacentShardToMerge: aws.String("shardId-000000000001")})
	require.NoError(t, err)
	put(60)
	upd, err := kc.UpdateShardCount(ctx(), &kinesis.UpdateShardCountInput{StreamName: name, TargetShardCount: aws.Int32(4), ScalingType: types.ScalingTypeUniformScaling})
	require.NoError(t, err)
	require.Equal(t, int32(2), *upd.CurrentShardCount)
	put(60)

	d, err := kc.DescribeStream(ctx(), &kinesis.DescribeStreamInput{StreamName: name})
	require.NoError(t, err)
	open := 0
	for _, sh := range d.StreamDescription.Shards {
		if sh.SequenceNumberRange.EndingSequenceNumber == nil {
			open++
		}
	}
	require.Equal(t, 4, open)
	latest, err := kc.ListShards(ctx(), &kinesis.ListShardsInput{StreamName: name, ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}})
	require.NoError(t, err)
	require.Len(t, latest.Shards, 4)

	// Read as the KCL does: a shard after all its parents, following
	// ChildShards from the shards at the trim horizon.
	seen := map[string]int{}
	done := map[string]bool{}
	queue := []string{"shardId-000000000000", "shardId-000000000001"}
	parents := map[string][]string{}
	for len(queue) > 0 {
		shard := queue[0]
		queue = queue[1:]
		if done[shard] {
			continue
		}
		ready := true
		for _, p := range parents[shard] {
			ready = ready && done[p]
		}
		if !ready {
			queue = append(queue, shard)
			continue
		}
		recs, children := readShard(t, kc, "s", shard)
		done[shard] = true
		for _, r := range recs {
			k := *r.PartitionKey
			require.Equal(t, fmt.Sprintf("%s/%d", k, seen[k]), string(r.Data), "order of %s in %s", k, shard)
			seen[k]++
		}
		for _, c := range children {
			parents[*c.ShardId] = c.ParentShards
			queue = append(queue, *c.ShardId)
		}
	}
	require.Equal(t, next, seen)
}

func TestKinesisFedByExchange(t *testing.T) {
	e, kc := kinesisEnv(t, Config{})
	createStream(t, kc, "readings", 2)
	v, err := e.b.Vhost("/")
	require.NoError(t, err)
	require.NoError(t, v.Bind(route.Binding{Source: "amq.topic", Key: "sensor.#", Dest: route.Dest{Kind: route.DestStream, Name: "readings"}}))
	acks := make(chan bool, 4)
	for i := 0; i < 4; i++ {
		m := &message.Message{Exchange: "amq.topic", RoutingKey: fmt.Sprintf("sensor.%d", i), Body: []byte(fmt.Sprintf("v%d", i)), Origin: message.FaceAMQP}
		routed, err := v.Publish(m, func(ack bool) { acks <- ack })
		require.NoError(t, err)
		require.True(t, routed)
	}
	for i := 0; i < 4; i++ {
		require.True(t, <-acks)
	}
	got := map[string]string{}
	for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
		recs, _ := readShard(t, kc, "readings", shard)
		for _, r := range recs {
			got[*r.PartitionKey] = string(r.Data)
		}
	}
	require.Equal(t, map[string]string{"sensor.0": "v0", "sensor.1": "v1", "sensor.2": "v2", "sensor.3": "v3"}, got)
}
