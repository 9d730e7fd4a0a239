package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SQSConfig is the SQS scenario. In throughput mode each of Clients loops
// SendMessage(Batch) of Batch messages → ReceiveMessage of up to Batch →
// DeleteMessage(Batch) of what came back, on one shared queue. In long-poll
// mode one receiver waits with WaitTimeSeconds=20 and one sender sends a
// message a few milliseconds after the receiver asked: the latency is from
// the send to the receive.
type SQSConfig struct {
	Endpoint  string        `json:"-"` // http://host:port
	Region    string        `json:"-"`
	Protocol  string        `json:"protocol"` // SQSJSON or SQSQuery
	Client    string        `json:"client"`   // Query only: SQSLean (default) or SQSStd
	Clients   int           `json:"clients"`
	Batch     int           `json:"batch"` // 1..10; above 1 the batch actions
	Size      int           `json:"size"`
	LongPoll  bool          `json:"longpoll,omitempty"`
	Duration  time.Duration `json:"-"`
	Warmup    time.Duration `json:"-"`
	BrokerPID int           `json:"-"`
	Broker    string        `json:"-"`
	Scenario  string        `json:"-"`
}

// sqsRun is one SQS run's shared state.
type sqsRun struct {
	cfg      SQSConfig
	api      sqsAPI
	queue    string
	epoch    time.Time
	from, to int64

	sent, received, deleted atomic.Int64 // in the window

	mu      sync.Mutex
	latency Histogram           // guarded by mu: send → receive
	calls   Histogram           // guarded by mu: one API call
	byCall  [numCalls]Histogram // guarded by mu: one API call, by kind (throughput loop)
}

// The API calls of a throughput cycle, for the per-call p50s in the
// result's note: where a cycle's time goes, send (its durable commit),
// receive, delete (its durable commit), next to the incumbent's.
const (
	callSend = iota
	callReceive
	callDelete
	numCalls
)

var callNames = [numCalls]string{"send", "receive", "delete"}

func (r *sqsRun) now() int64      { return int64(time.Since(r.epoch)) }
func (r *sqsRun) in(t int64) bool { return t >= r.from && t < r.to }

func (r *sqsRun) merge(lat, calls *Histogram) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latency.Merge(lat)
	r.calls.Merge(calls)
}

// mergeByCall merges a throughput client's histograms: each call kind's
// into its own and all of them into calls.
func (r *sqsRun) mergeByCall(lat *Histogram, by *[numCalls]Histogram) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latency.Merge(lat)
	for i := range by {
		r.calls.Merge(&by[i])
		r.byCall[i].Merge(&by[i])
	}
}

// normalize fills defaults and checks cfg.
func (cfg *SQSConfig) normalize() error {
	cfg.Clients = max(cfg.Clients, 1)
	cfg.Batch = min(max(cfg.Batch, 1), 10)
	cfg.Size = max(cfg.Size, 20)
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Protocol == "" {
		cfg.Protocol = SQSJSON
	}
	if cfg.Protocol != SQSJSON && cfg.Protocol != SQSQuery {
		return fmt.Errorf("bench: unknown SQS protocol %q (want json or query)", cfg.Protocol)
	}
	switch {
	case cfg.Protocol == SQSJSON:
		cfg.Client = "sdk"
	case cfg.Client == "":
		cfg.Client = SQSLean
	case cfg.Client != SQSLean && cfg.Client != SQSStd:
		return fmt.Errorf("bench: unknown SQS Query client %q (want lean or std)", cfg.Client)
	}
	if cfg.Duration <= 0 {
		return errors.New("bench: duration must be positive")
	}
	return nil
}

// name derives a scenario label from the settings.
func (cfg *SQSConfig) name() string {
	proto := cfg.Protocol
	if cfg.Client == SQSStd {
		proto += "-std"
	}
	if cfg.LongPoll {
		return "sqs-longpoll-" + proto
	}
	return fmt.Sprintf("sqs-%s-c%d-b%d-%dB", proto, cfg.Clients, cfg.Batch, cfg.Size)
}

// RunSQS runs the SQS scenario once on a queue of its own, deleted after.
func RunSQS(ctx context.Context, cfg SQSConfig) (*Result, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	r := &sqsRun{cfg: cfg, epoch: time.Now()}
	var err error
	switch {
	case cfg.Protocol == SQSJSON:
		r.api = newSDKSQS(cfg.Endpoint, cfg.Region, cfg.Clients+1)
	case cfg.Client == SQSStd:
		r.api = newQuerySQS(cfg.Endpoint, cfg.Region, cfg.Clients+1)
	default:
		if r.api, err = newLeanSQS(cfg.Endpoint, cfg.Region, cfg.Clients+1); err != nil {
			return nil, err
		}
	}
	name := fmt.Sprintf("bench-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if r.queue, err = r.api.createQueue(ctx, name); err != nil {
		return nil, fmt.Errorf("bench: CreateQueue: %w", err)
	}
	defer r.api.deleteQueue(context.WithoutCancel(ctx), r.queue)
	r.from = r.now() + int64(cfg.Warmup)
	r.to = r.from + int64(cfg.Duration)
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	fail := func(err error) {
		if err != nil && wctx.Err() == nil {
			cancel(err)
		}
	}
	if cfg.LongPoll {
		r.startLongPoll(wctx, &wg, fail)
	} else {
		for range cfg.Clients {
			wg.Go(func() { fail(r.loop(wctx)) })
		}
	}
	before, after, err := measureWindow(wctx, cancel, &wg, r.epoch, r.from, r.to, cfg.BrokerPID)
	if err != nil {
		return nil, err
	}
	return r.result(before, after), nil
}

// body returns a message body of cfg.Size characters that starts with the
// send time t in decimal (SQS bodies are text).
func (r *sqsRun) body(t int64) string {
	s := strconv.FormatInt(t, 10) + " "
	return s + strings.Repeat("x", max(r.cfg.Size-len(s), 0))
}

// stampOfBody reads the send time a body starts with.
func stampOfBody(b string) int64 {
	s, _, _ := strings.Cut(b, " ")
	t, _ := strconv.ParseInt(s, 10, 64)
	return t
}

// timed runs one API call and records its duration in h.
func (r *sqsRun) timed(h *Histogram, call func() error) error {
	start := r.now()
	err := call()
	h.Record(r.now() - start)
	return err
}

// loop is one throughput client: send, receive, delete until ctx ends.
func (r *sqsRun) loop(ctx context.Context) error {
	var lat Histogram
	var calls [numCalls]Histogram
	defer r.mergeByCall(&lat, &calls)
	bodies := make([]string, r.cfg.Batch)
	for ctx.Err() == nil {
		t := r.now()
		for i := range bodies {
			bodies[i] = r.body(t)
		}
		if err := r.timed(&calls[callSend], func() error { return r.api.send(ctx, r.queue, bodies) }); err != nil {
			return ignoreCanceled(ctx, err)
		}
		if r.in(t) {
			r.sent.Add(int64(len(bodies)))
		}
		var msgs []sqsMessage
		err := r.timed(&calls[callReceive], func() (err error) {
			msgs, err = r.api.receive(ctx, r.queue, r.cfg.Batch, 0)
			return err
		})
		if err != nil {
			return ignoreCanceled(ctx, err)
		}
		if len(msgs) == 0 {
			continue
		}
		now := r.now()
		handles := make([]string, len(msgs))
		for i, m := range msgs {
			handles[i] = m.handle
			if sent := stampOfBody(m.body); r.in(now) {
				lat.Record(now - sent)
			}
		}
		if r.in(now) {
			r.received.Add(int64(len(msgs)))
		}
		if err := r.timed(&calls[callDelete], func() error { return r.api.delete(ctx, r.queue, handles) }); err != nil {
			return ignoreCanceled(ctx, err)
		}
		if r.in(r.now()) {
			r.deleted.Add(int64(len(msgs)))
		}
	}
	return nil
}

// ignoreCanceled returns nil for an error that only says ctx ended.
func ignoreCanceled(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// lpGap is how long the long-poll sender waits after the receiver asked,
// so that the receive is parked in the broker when the message comes.
const lpGap = 10 * time.Millisecond

// startLongPoll starts the long-poll receiver and sender.
func (r *sqsRun) startLongPoll(ctx context.Context, wg *sync.WaitGroup, fail func(error)) {
	asked := make(chan struct{}, 1)
	wg.Go(func() {
		var lat, calls Histogram
		defer r.merge(&lat, &calls)
		for ctx.Err() == nil {
			select {
			case asked <- struct{}{}:
			case <-ctx.Done():
				return
			}
			msgs, err := r.api.receive(ctx, r.queue, 1, 20)
			if err != nil {
				fail(ignoreCanceled(ctx, err))
				return
			}
			now := r.now()
			for _, m := range msgs {
				if sent := stampOfBody(m.body); r.in(sent) {
					lat.Record(now - sent)
					r.received.Add(1)
				}
				if err := r.timed(&calls, func() error { return r.api.delete(ctx, r.queue, []string{m.handle}) }); err != nil {
					fail(ignoreCanceled(ctx, err))
					return
				}
			}
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-asked:
			case <-ctx.Done():
				return
			}
			if sleepCtx(ctx, lpGap) != nil {
				return
			}
			t := r.now()
			if err := r.api.send(ctx, r.queue, []string{r.body(t)}); err != nil {
				fail(ignoreCanceled(ctx, err))
				return
			}
			if r.in(t) {
				r.sent.Add(1)
			}
		}
	})
}

// result builds the run's Result: the delivered rate counts messages that
// completed the cycle (sent, received and deleted).
func (r *sqsRun) result(before, after sample) *Result {
	secs := r.cfg.Duration.Seconds()
	host, _ := os.Hostname()
	res := &Result{
		Time: time.Now().UTC().Format(time.RFC3339), Broker: r.cfg.Broker, Scenario: r.cfg.Scenario,
		Kind: "sqs", Client: r.cfg.Protocol + "-" + r.cfg.Client, Host: host, CPUs: runtime.NumCPU(), Settings: r.cfg,
		DurationSec: secs, Published: r.sent.Load(), Delivered: r.deleted.Load(),
	}
	if r.cfg.LongPoll {
		res.Delivered = r.received.Load()
	}
	if res.Scenario == "" {
		res.Scenario = r.cfg.name()
	}
	res.PublishRate = float64(res.Published) / secs
	res.DeliverRate = float64(res.Delivered) / secs
	res.Note = fmt.Sprintf("received %d", r.received.Load())
	r.mu.Lock()
	res.LatencyP50Ms = ms(r.latency.Quantile(0.50))
	res.LatencyP99Ms = ms(r.latency.Quantile(0.99))
	res.LatencyMaxMs = ms(r.latency.Max())
	res.CallP50Ms = ms(r.calls.Quantile(0.50))
	res.CallP99Ms = ms(r.calls.Quantile(0.99))
	for i := range r.byCall {
		if h := &r.byCall[i]; h.Count() > 0 {
			res.Note += fmt.Sprintf("; %s p50 %.3f ms", callNames[i], ms(h.Quantile(0.50)))
		}
	}
	r.mu.Unlock()
	res.addCPU(before, after, max(res.Delivered, 1), r.cfg.BrokerPID)
	return res
}
