package crash_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

const kinesisStream = "crash-kinesis"

// kinesisFace puts records with PutRecords (keys spread over two shards)
// and reads every shard with GetRecords while it runs. At the end the
// whole stream is read again from TRIM_HORIZON: every confirmed record must
// be there under the sequence number its confirm gave.
type kinesisFace struct {
	c clients
	l *ledger // the live reader's view

	mu  sync.Mutex       // guards seq
	seq map[int]shardSeq // confirmed id → where the confirm put it
}

type shardSeq struct{ shard, seq string }

func (f *kinesisFace) opt(o *kinesis.Options) { o.BaseEndpoint = aws.String(f.c.b.awsURL()) }

func (f *kinesisFace) setup(ctx context.Context) error {
	k := f.c.kinesis()
	_, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(kinesisStream), ShardCount: aws.Int32(2)}, f.opt)
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		out, err := k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(kinesisStream)}, f.opt)
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("stream never became ACTIVE")
}

func (f *kinesisFace) shards(ctx context.Context, k *kinesis.Client) ([]string, error) {
	out, err := k.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(kinesisStream)}, f.opt)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(out.Shards))
	for i, s := range out.Shards {
		ids[i] = aws.ToString(s.ShardId)
	}
	return ids, nil
}

// produce puts batches of 20 records until ctx ends.
func (f *kinesisFace) produce(ctx context.Context) {
	k := f.c.kinesis()
	for next := 0; ctx.Err() == nil; {
		entries := make([]types.PutRecordsRequestEntry, 20)
		for i := range entries {
			id := next + i
			entries[i] = types.PutRecordsRequestEntry{
				Data: fmt.Appendf(nil, "k-%d", id), PartitionKey: aws.String(fmt.Sprintf("key-%d", id%8)),
			}
		}
		first := next
		next += len(entries)
		f.l.published.Add(int64(len(entries)))
		out, err := k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(kinesisStream), Records: entries}, f.opt)
		if err != nil {
			pause(ctx)
			continue
		}
		f.mu.Lock()
		for i, r := range out.Records {
			if r.ErrorCode == nil {
				f.seq[first+i] = shardSeq{aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber)}
				f.l.confirm(first + i)
			}
		}
		f.mu.Unlock()
	}
}

// consume follows every shard from TRIM_HORIZON, resuming after the last
// record it read when the broker comes back.
func (f *kinesisFace) consume(ctx context.Context) {
	k := f.c.kinesis()
	var shards []string
	for ctx.Err() == nil && shards == nil {
		shards, _ = f.shards(ctx, k)
		pause(ctx)
	}
	var wg sync.WaitGroup
	for _, s := range shards {
		wg.Go(func() { f.follow(ctx, k, s, f.l) })
	}
	wg.Wait()
}

// follow reads one shard into l until ctx ends.
func (f *kinesisFace) follow(ctx context.Context, k *kinesis.Client, shard string, l *ledger) {
	last, iter := "", ""
	for ctx.Err() == nil {
		if iter == "" {
			in := &kinesis.GetShardIteratorInput{StreamName: aws.String(kinesisStream), ShardId: aws.String(shard),
				ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
			if last != "" {
				in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(last)
			}
			out, err := k.GetShardIterator(ctx, in, f.opt)
			if err != nil {
				pause(ctx)
				continue
			}
			iter = aws.ToString(out.ShardIterator)
		}
		out, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(iter), Limit: aws.Int32(1000)}, f.opt)
		if err != nil {
			iter = ""
			pause(ctx)
			continue
		}
		for _, r := range out.Records {
			last = aws.ToString(r.SequenceNumber)
			f.record(l, shard, last, r.Data)
		}
		iter = aws.ToString(out.NextShardIterator)
		if len(out.Records) == 0 {
			pause(ctx)
		}
	}
}

// record notes one record read from shard; a confirmed record read under
// another sequence number than its confirm gave counts as a mismatch.
func (f *kinesisFace) record(l *ledger, shard, seq string, data []byte) {
	id, ok := parseID("k", data)
	if !ok {
		l.count("foreign", 1)
		return
	}
	l.deliver(shard, id)
	f.mu.Lock()
	want, confirmed := f.seq[id]
	f.mu.Unlock()
	if confirmed && (want.shard != shard || want.seq != seq) {
		l.count("seq-mismatch", 1)
	}
}

// verify reads the whole stream again into a fresh ledger holding the same
// confirmed ids, polling until every confirmed record is there or ctx ends.
func (f *kinesisFace) verify(ctx context.Context) *ledger {
	final := newLedger("kinesis")
	f.mu.Lock()
	for id := range f.seq {
		final.confirmed[id] = true
	}
	f.mu.Unlock()
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		k := f.c.kinesis()
		shards, err := f.shards(rctx, k)
		if err != nil {
			return
		}
		var inner sync.WaitGroup
		for _, s := range shards {
			inner.Go(func() { f.follow(rctx, k, s, final) })
		}
		inner.Wait()
	})
	for final.missing() > 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	// Let the readers reach the end, so duplicates behind the last
	// confirmed record are counted too.
	quiet(ctx, final, 500*time.Millisecond)
	cancel()
	wg.Wait()
	return final
}
