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

// The Kinesis load clients KinesisConfig.Client names.
const (
	// KinesisNative is the bench's own client: plain net/http with
	// keep-alive, PutRecords bodies built once per producer with each
	// record's send time and partition key patched in place, SigV4 per
	// request, GetRecords answers scanned for what the run counts.
	KinesisNative = "native"
	// KinesisSDK is aws-sdk-go-v2's kinesis client (what users run).
	KinesisSDK = "sdk"
)

// KinesisConfig is the Kinesis scenario: Producers put batches of Batch
// records of Size bytes with random partition keys into a stream of
// Shards shards, while one reader per shard loops GetRecords from
// TRIM_HORIZON. After the window the producers stop and the readers
// drain the stream, so that records put but never read count as lost.
// Client is KinesisNative or KinesisSDK (AWS JSON 1.1 both).
type KinesisConfig struct {
	Endpoint  string        `json:"-"`
	Region    string        `json:"-"`
	Client    string        `json:"client"`
	Shards    int           `json:"shards"`
	Producers int           `json:"producers"` // 0: one per shard, at least 2
	Batch     int           `json:"batch"`     // records per PutRecords (≤ 500)
	Size      int           `json:"size"`      // bytes of data per record
	Limit     int           `json:"limit"`     // GetRecords Limit
	Duration  time.Duration `json:"-"`
	Warmup    time.Duration `json:"-"`
	Drain     time.Duration `json:"-"` // longest wait for the readers to catch up after the window
	BrokerPID int           `json:"-"`
	Broker    string        `json:"-"`
	Scenario  string        `json:"-"`
}

// kinesisClient is what a run needs of a Kinesis client besides the
// stream's creation and deletion (the SDK's, for both clients).
type kinesisClient interface {
	// producer returns a producer of batches of batch records of size
	// bytes into stream.
	producer(stream string, batch, size int) kinesisProducer
	// iterator returns a TRIM_HORIZON iterator of shard.
	iterator(ctx context.Context, stream, shard string) (string, error)
	// getRecords reads once at iter, calling rec with each record's send
	// time (-1 if it has none) and data size; next is "" at a closed
	// shard's end.
	getRecords(ctx context.Context, iter string, limit int, rec func(sent int64, size int)) (next string, n int, err error)
}

// kinesisProducer puts batches, one call at a time.
type kinesisProducer interface {
	// put stamps each record with sent (its first 8 bytes, little
	// endian), gives it a fresh random partition key and puts the batch;
	// ok is how many records succeeded.
	put(ctx context.Context, sent int64) (ok int, err error)
}

// kinesisRun is one Kinesis run's shared state.
type kinesisRun struct {
	cfg      KinesisConfig
	sdk      *kinesis.Client // stream creation and deletion
	kc       kinesisClient
	stream   string
	epoch    time.Time
	from, to int64

	put, got, putBytes, gotBytes atomic.Int64 // in the window
	putAll, gotAll               atomic.Int64 // the whole run
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
	if cfg.Client == "" {
		cfg.Client = KinesisNative
	}
	if cfg.Client != KinesisNative && cfg.Client != KinesisSDK {
		return fmt.Errorf("bench: unknown client %q (want %s or %s)", cfg.Client, KinesisNative, KinesisSDK)
	}
	cfg.Shards = max(cfg.Shards, 1)
	if cfg.Producers <= 0 {
		cfg.Producers = max(cfg.Shards, 2)
	}
	cfg.Batch = min(max(cfg.Batch, 1), 500)
	cfg.Size = max(cfg.Size, 9)
	if cfg.Limit <= 0 {
		cfg.Limit = 10000
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 30 * time.Second
	}
	if cfg.Duration <= 0 {
		return errors.New("bench: duration must be positive")
	}
	return nil
}

// name derives a scenario label from the settings.
func (cfg *KinesisConfig) name() string {
	return fmt.Sprintf("kinesis-%s-%dshard-p%d-b%d-%dB", cfg.Client, cfg.Shards, cfg.Producers, cfg.Batch, cfg.Size)
}

// RunKinesis runs the Kinesis scenario once on a stream of its own,
// deleted after.
func RunKinesis(ctx context.Context, cfg KinesisConfig) (*Result, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	r := &kinesisRun{cfg: cfg, epoch: time.Now(),
		stream: fmt.Sprintf("bench-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)}
	conns := cfg.Producers + cfg.Shards
	r.sdk = kinesis.NewFromConfig(awsConfig(cfg.Region, conns),
		func(o *kinesis.Options) { o.BaseEndpoint = aws.String(cfg.Endpoint) })
	r.kc = sdkKinesis{r.sdk}
	if cfg.Client == KinesisNative {
		r.kc = newNativeKinesis(cfg.Endpoint, cfg.Region, conns)
	}
	shards, err := r.create(ctx)
	if err != nil {
		return nil, err
	}
	defer r.sdk.DeleteStream(context.WithoutCancel(ctx), &kinesis.DeleteStreamInput{StreamName: &r.stream})
	r.from = r.now() + int64(cfg.Warmup)
	r.to = r.from + int64(cfg.Duration)
	// Everything runs under rctx, which a failure cancels. Producers stop
	// at the window's end between calls (a call cut off midway might be
	// stored without being counted); readers then drain the stream.
	rctx, rcancel := context.WithCancelCause(ctx)
	defer rcancel(nil)
	var readers, producers sync.WaitGroup
	fail := func(err error) {
		if err = ignoreCanceled(rctx, err); err != nil {
			rcancel(err)
		}
	}
	var stop, stopped atomic.Bool // stop the producers; they have stopped
	caught := make([]atomic.Bool, len(shards))
	for i, id := range shards {
		readers.Go(func() { fail(r.read(rctx, id, &stopped, &caught[i])) })
	}
	for range cfg.Producers {
		producers.Go(func() { fail(r.produce(rctx, &stop)) })
	}
	before, err := sampleAt(rctx, r.epoch, r.from, cfg.BrokerPID)
	var after sample
	if err == nil {
		after, err = sampleAt(rctx, r.epoch, r.to, cfg.BrokerPID)
	}
	stop.Store(true)
	producers.Wait()
	if cause := context.Cause(rctx); cause != nil {
		err = cause
	}
	if err != nil {
		rcancel(err)
		readers.Wait()
		return nil, err
	}
	stopped.Store(true)
	drained := r.drain(rctx, caught)
	err = context.Cause(rctx) // a reader failed while draining
	rcancel(nil)
	readers.Wait()
	if err != nil {
		return nil, err
	}
	return r.result(before, after, drained), nil
}

// drain waits until every reader has reached its shard's end after the
// producers stopped, or cfg.Drain passes; it reports whether they all did.
func (r *kinesisRun) drain(ctx context.Context, caught []atomic.Bool) bool {
	deadline := time.Now().Add(r.cfg.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		all := true
		for i := range caught {
			all = all && caught[i].Load()
		}
		if all {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// create creates the stream, waits until it is active and returns its
// shard ids.
func (r *kinesisRun) create(ctx context.Context) ([]string, error) {
	_, err := r.sdk.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &r.stream, ShardCount: aws.Int32(int32(r.cfg.Shards))})
	if err != nil {
		return nil, fmt.Errorf("bench: CreateStream: %w", err)
	}
	for range 300 {
		out, err := r.sdk.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: &r.stream})
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

// produce puts batches until stop is set or ctx ends.
func (r *kinesisRun) produce(ctx context.Context, stop *atomic.Bool) error {
	var calls Histogram
	defer r.merge(&Histogram{}, &calls)
	p := r.kc.producer(r.stream, r.cfg.Batch, r.cfg.Size)
	for !stop.Load() && ctx.Err() == nil {
		t := r.now()
		n, err := p.put(ctx, t)
		calls.Record(r.now() - t)
		if err != nil {
			return fmt.Errorf("bench: PutRecords: %w", err)
		}
		r.putAll.Add(int64(n))
		if r.in(t) {
			r.put.Add(int64(n))
			r.putBytes.Add(int64(n) * int64(r.cfg.Size))
		}
	}
	return nil
}

// read loops GetRecords on one shard from its start until ctx ends; once
// stopped is set, an empty answer means the shard is drained: it sets
// caught and stops.
func (r *kinesisRun) read(ctx context.Context, shard string, stopped, caught *atomic.Bool) error {
	var lat Histogram
	defer r.merge(&lat, &Histogram{})
	iter, err := r.kc.iterator(ctx, r.stream, shard)
	if err != nil {
		return fmt.Errorf("bench: GetShardIterator: %w", err)
	}
	failures := 0 // consecutive
	for ctx.Err() == nil && iter != "" {
		done := stopped.Load() // read before the call: an empty answer after it is the end
		var now, bytes int64
		next, n, err := r.kc.getRecords(ctx, iter, r.cfg.Limit, func(sent int64, size int) {
			if now == 0 {
				now = r.now()
			}
			if sent >= 0 && r.in(sent) {
				lat.Record(now - sent)
			}
			bytes += int64(size)
		})
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
		iter = next
		r.gotAll.Add(int64(n))
		if now == 0 {
			now = r.now()
		}
		if r.in(now) {
			r.got.Add(int64(n))
			r.gotBytes.Add(bytes)
		}
		if n == 0 && done {
			caught.Store(true)
			return nil
		}
		if n < r.cfg.Limit/10 {
			if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
				return nil
			}
		}
	}
	caught.Store(iter == "")
	return nil
}

// result builds the run's Result; drained tells whether the readers read
// the stream to its end after the window (then records put and not read
// count as lost).
func (r *kinesisRun) result(before, after sample, drained bool) *Result {
	secs := r.cfg.Duration.Seconds()
	host, _ := os.Hostname()
	res := &Result{
		Time: time.Now().UTC().Format(time.RFC3339), Broker: r.cfg.Broker, Scenario: r.cfg.Scenario,
		Kind: "kinesis", Client: r.cfg.Client, Host: host, CPUs: runtime.NumCPU(), Settings: r.cfg,
		DurationSec: secs, Published: r.put.Load(), Delivered: r.got.Load(),
	}
	if res.Scenario == "" {
		res.Scenario = r.cfg.name()
	}
	res.PublishRate = float64(res.Published) / secs
	res.DeliverRate = float64(res.Delivered) / secs
	putAll, gotAll := r.putAll.Load(), r.gotAll.Load()
	res.Note = fmt.Sprintf("GetRecords retried after an error: %d; records put %d, read %d", r.getErrors.Load(), putAll, gotAll)
	if drained {
		lost := max(putAll-gotAll, 0)
		res.Lost = &lost
		res.Duplicates = max(gotAll-putAll, 0)
	} else {
		res.Note += fmt.Sprintf("; readers not at the end %s after the window: losses not counted", r.cfg.Drain)
	}
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

// sdkKinesis is aws-sdk-go-v2's kinesis client.
type sdkKinesis struct{ c *kinesis.Client }

// sdkProducer reuses one batch of entries.
type sdkProducer struct {
	c       *kinesis.Client
	stream  string
	entries []types.PutRecordsRequestEntry
}

func (s sdkKinesis) producer(stream string, batch, size int) kinesisProducer {
	p := &sdkProducer{c: s.c, stream: stream, entries: make([]types.PutRecordsRequestEntry, batch)}
	for i := range p.entries {
		p.entries[i].Data = make([]byte, size)
	}
	return p
}

func (p *sdkProducer) put(ctx context.Context, sent int64) (int, error) {
	for i := range p.entries {
		binary.LittleEndian.PutUint64(p.entries[i].Data, uint64(sent))
		p.entries[i].PartitionKey = aws.String(strconv.FormatUint(rand.Uint64(), 36))
	}
	out, err := p.c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &p.stream, Records: p.entries})
	if err != nil {
		return 0, err
	}
	return len(p.entries) - int(aws.ToInt32(out.FailedRecordCount)), nil
}

func (s sdkKinesis) iterator(ctx context.Context, stream, shard string) (string, error) {
	out, err := s.c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: &stream,
		ShardId: &shard, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ShardIterator), nil
}

func (s sdkKinesis) getRecords(ctx context.Context, iter string, limit int, rec func(sent int64, size int)) (string, int, error) {
	out, err := s.c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: &iter, Limit: aws.Int32(int32(limit))})
	if err != nil {
		return "", 0, err
	}
	for _, d := range out.Records {
		sent := int64(-1)
		if len(d.Data) >= 8 {
			sent = int64(binary.LittleEndian.Uint64(d.Data))
		}
		rec(sent, len(d.Data))
	}
	return aws.ToString(out.NextShardIterator), len(out.Records), nil
}
