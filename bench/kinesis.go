package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// KinesisConfig is the Kinesis scenario: Producers put batches of Batch
// records of Size bytes with random partition keys into a stream of
// Shards shards, while one reader per shard loops GetRecords from
// TRIM_HORIZON. Clients are aws-sdk-go-v2's kinesis client (AWS JSON 1.1).
type KinesisConfig struct {
	Endpoint  string        `json:"-"`
	Region    string        `json:"-"`
	Shards    int           `json:"shards"`
	Producers int           `json:"producers"`
	Batch     int           `json:"batch"` // records per PutRecords (≤ 500)
	Size      int           `json:"size"`  // bytes of data per record
	Limit     int           `json:"limit"` // GetRecords Limit
	Duration  time.Duration `json:"-"`
	Warmup    time.Duration `json:"-"`
	BrokerPID int           `json:"-"`
	Broker    string        `json:"-"`
	Scenario  string        `json:"-"`
}

// kinesisRun is one Kinesis run's shared state.
type kinesisRun struct {
	cfg      KinesisConfig
	c        *kinesis.Client
	stream   string
	epoch    time.Time
	from, to int64

	put, got, putBytes, gotBytes atomic.Int64 // in the window
	getErrors                    atomic.Int64 // GetRecords calls that failed and were retried

	mu      sync.Mutex
	latency Histogram // guarded by mu: put → get
	calls   Histogram // guarded by mu: PutRecords calls
}

func (r *kinesisRun) now() int64      { return int64(time.Since(r.epoch)) }
func (r *kinesisRun) in(t int64) bool { return t >= r.from && t < r.to }

func (r *kinesisRun) merge(lat, calls *Histogram) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latency.Merge(lat)
	r.calls.Merge(calls)
}

// normalize fills defaults and checks cfg.
func (cfg *KinesisConfig) normalize() error {
	cfg.Shards = max(cfg.Shards, 1)
	cfg.Producers = max(cfg.Producers, 1)
	cfg.Batch = min(max(cfg.Batch, 1), 500)
	cfg.Size = max(cfg.Size, 8)
	if cfg.Limit <= 0 {
		cfg.Limit = 10000
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Duration <= 0 {
		return errors.New("bench: duration must be positive")
	}
	return nil
}

// name derives a scenario label from the settings.
func (cfg *KinesisConfig) name() string {
	return fmt.Sprintf("kinesis-%dshard-p%d-b%d-%dB", cfg.Shards, cfg.Producers, cfg.Batch, cfg.Size)
}

// RunKinesis runs the Kinesis scenario once on a stream of its own,
// deleted after.
func RunKinesis(ctx context.Context, cfg KinesisConfig) (*Result, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	r := &kinesisRun{cfg: cfg, epoch: time.Now(),
		stream: fmt.Sprintf("bench-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)}
	r.c = kinesis.NewFromConfig(awsConfig(cfg.Region, cfg.Producers+cfg.Shards),
		func(o *kinesis.Options) { o.BaseEndpoint = aws.String(cfg.Endpoint) })
	shards, err := r.create(ctx)
	if err != nil {
		return nil, err
	}
	defer r.c.DeleteStream(context.WithoutCancel(ctx), &kinesis.DeleteStreamInput{StreamName: &r.stream})
	r.from = r.now() + int64(cfg.Warmup)
	r.to = r.from + int64(cfg.Duration)
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	fail := func(err error) {
		if err = ignoreCanceled(wctx, err); err != nil {
			cancel(err)
		}
	}
	for _, id := range shards {
		wg.Go(func() { fail(r.read(wctx, id)) })
	}
	for range cfg.Producers {
		wg.Go(func() { fail(r.produce(wctx)) })
	}
	before, after, err := measureWindow(wctx, cancel, &wg, r.epoch, r.from, r.to, cfg.BrokerPID)
	if err != nil {
		return nil, err
	}
	return r.result(before, after), nil
}

// create creates the stream, waits until it is active and returns its
// shard ids.
func (r *kinesisRun) create(ctx context.Context) ([]string, error) {
	_, err := r.c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &r.stream, ShardCount: aws.Int32(int32(r.cfg.Shards))})
	if err != nil {
		return nil, fmt.Errorf("bench: CreateStream: %w", err)
	}
	for range 300 {
		out, err := r.c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: &r.stream})
		if err != nil {
			return nil, fmt.Errorf("bench: DescribeStream: %w", err)
		}
		if out.StreamDescription.StreamStatus == types.StreamStatusActive {
			var ids []string
			for _, s := range out.StreamDescription.Shards {
				ids = append(ids, aws.ToString(s.ShardId))
			}
			return ids, nil
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("bench: stream not active after 30 s")
}

// produce puts batches until ctx ends.
func (r *kinesisRun) produce(ctx context.Context) error {
	var calls Histogram
	defer r.merge(&Histogram{}, &calls)
	entries := make([]types.PutRecordsRequestEntry, r.cfg.Batch)
	for i := range entries {
		entries[i].Data = make([]byte, r.cfg.Size)
	}
	for ctx.Err() == nil {
		t := r.now()
		for i := range entries {
			binary.LittleEndian.PutUint64(entries[i].Data, uint64(t))
			entries[i].PartitionKey = aws.String(strconv.FormatUint(rand.Uint64(), 36))
		}
		var out *kinesis.PutRecordsOutput
		err := r.timedCall(&calls, func() (err error) {
			out, err = r.c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &r.stream, Records: entries})
			return err
		})
		if err != nil {
			return fmt.Errorf("bench: PutRecords: %w", err)
		}
		if r.in(t) {
			n := int64(len(entries)) - int64(aws.ToInt32(out.FailedRecordCount))
			r.put.Add(n)
			r.putBytes.Add(n * int64(r.cfg.Size))
		}
	}
	return nil
}

// timedCall runs one API call and records its duration in h.
func (r *kinesisRun) timedCall(h *Histogram, call func() error) error {
	start := r.now()
	err := call()
	h.Record(r.now() - start)
	return err
}

// read loops GetRecords on one shard from its start until ctx ends.
func (r *kinesisRun) read(ctx context.Context, shard string) error {
	var lat Histogram
	defer r.merge(&lat, &Histogram{})
	it, err := r.c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: &r.stream,
		ShardId: &shard, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		return fmt.Errorf("bench: GetShardIterator: %w", err)
	}
	iter := it.ShardIterator
	failures := 0 // consecutive
	for ctx.Err() == nil && iter != nil {
		out, err := r.c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(int32(r.cfg.Limit))})
		if err != nil {
			// A failed read is retried with the same iterator (counted in
			// the result's note); three in a row fail the run.
			if failures++; failures == 3 || ctx.Err() != nil {
				return fmt.Errorf("bench: GetRecords: %w", err)
			}
			r.getErrors.Add(1)
			continue
		}
		failures = 0
		iter = out.NextShardIterator
		now := r.now()
		var n, bytes int64
		for _, rec := range out.Records {
			if len(rec.Data) >= 8 {
				if sent := int64(binary.LittleEndian.Uint64(rec.Data)); r.in(sent) {
					lat.Record(now - sent)
				}
			}
			n++
			bytes += int64(len(rec.Data))
		}
		if r.in(now) {
			r.got.Add(n)
			r.gotBytes.Add(bytes)
		}
		if len(out.Records) < r.cfg.Limit/10 {
			if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
				return nil
			}
		}
	}
	return nil
}

// result builds the run's Result.
func (r *kinesisRun) result(before, after sample) *Result {
	secs := r.cfg.Duration.Seconds()
	host, _ := os.Hostname()
	res := &Result{
		Time: time.Now().UTC().Format(time.RFC3339), Broker: r.cfg.Broker, Scenario: r.cfg.Scenario,
		Kind: "kinesis", Client: "sdk", Host: host, CPUs: runtime.NumCPU(), Settings: r.cfg,
		DurationSec: secs, Published: r.put.Load(), Delivered: r.got.Load(),
	}
	if res.Scenario == "" {
		res.Scenario = r.cfg.name()
	}
	res.PublishRate = float64(res.Published) / secs
	res.DeliverRate = float64(res.Delivered) / secs
	res.Note = fmt.Sprintf("GetRecords retried after an error: %d", r.getErrors.Load())
	res.PublishMiBps = mib(r.putBytes.Load()) / secs
	res.DeliverMiBps = mib(r.gotBytes.Load()) / secs
	r.mu.Lock()
	res.LatencyP50Ms = ms(r.latency.Quantile(0.50))
	res.LatencyP99Ms = ms(r.latency.Quantile(0.99))
	res.LatencyMaxMs = ms(r.latency.Max())
	res.CallP50Ms = ms(r.calls.Quantile(0.50))
	res.CallP99Ms = ms(r.calls.Quantile(0.99))
	r.mu.Unlock()
	res.addCPU(before, after, max(res.Published, 1), r.cfg.BrokerPID)
	return res
}
