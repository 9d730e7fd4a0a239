package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Churn targets: what one churn cycle opens and closes again.
const (
	ChurnConnection = "connection" // dial, open, close a connection
	ChurnChannel    = "channel"    // open and close a channel on one connection
	ChurnQueue      = "queue"      // declare and delete a queue on one channel
	ChurnBinding    = "binding"    // bind a queue to amq.direct and unbind it
)

// ChurnConfig is one AMQP churn run, in the spirit of PerfTest's
// connection and queue churn: Clients workers repeat a cycle that creates
// one What and deletes it again, as fast as the broker answers, with
// amqp091-go. A cycle's time is its two round trips (four and more for a
// connection's handshake and close).
type ChurnConfig struct {
	URI       string        `json:"-"`
	What      string        `json:"what"`
	Clients   int           `json:"clients"`
	Duration  time.Duration `json:"-"`
	Warmup    time.Duration `json:"-"`
	BrokerPID int           `json:"-"`
	Broker    string        `json:"-"`
	Scenario  string        `json:"-"`
}

// churnRun is one churn run's shared state.
type churnRun struct {
	cfg      ChurnConfig
	epoch    time.Time
	from, to int64 // the measured window, nanoseconds since epoch
	cycles   atomic.Int64
	mu       sync.Mutex
	lat      Histogram // guarded by mu; cycle times in the window
}

func (r *churnRun) now() int64 { return int64(time.Since(r.epoch)) }

// RunChurn runs one churn scenario and returns its Result: cycles per
// second in OpsRate, a cycle's time (p50, p99) in the call latencies, and
// client and broker CPU per cycle.
func RunChurn(ctx context.Context, cfg ChurnConfig) (*Result, error) {
	switch cfg.What {
	case ChurnConnection, ChurnChannel, ChurnQueue, ChurnBinding:
	default:
		return nil, fmt.Errorf("bench: churn what %q: want connection, channel, queue or binding", cfg.What)
	}
	cfg.Clients = max(cfg.Clients, 1)
	r := &churnRun{cfg: cfg, epoch: time.Now()}
	r.from = r.now() + int64(cfg.Warmup)
	r.to = r.from + int64(cfg.Duration)
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		wg.Go(func() {
			if err := r.worker(wctx, i); err != nil && wctx.Err() == nil {
				cancel(err)
			}
		})
	}
	before, after, err := measureWindow(wctx, cancel, &wg, r.epoch, r.from, r.to, cfg.BrokerPID)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	res := &Result{
		Time: time.Now().UTC().Format(time.RFC3339), Broker: cfg.Broker, Scenario: cfg.Scenario,
		Kind: "churn", Client: ClientAMQP091, Host: host, CPUs: runtime.NumCPU(), Settings: cfg,
		DurationSec: cfg.Duration.Seconds(),
	}
	if res.Scenario == "" {
		res.Scenario = fmt.Sprintf("churn-%s-c%d", cfg.What, cfg.Clients)
	}
	n := r.cycles.Load()
	res.OpsRate = float64(n) / cfg.Duration.Seconds()
	res.CallP50Ms = ms(r.lat.Quantile(0.5))
	res.CallP99Ms = ms(r.lat.Quantile(0.99))
	res.addCPU(before, after, n, cfg.BrokerPID)
	return res, nil
}

// worker sets up what its cycle needs (a connection, a channel, a queue)
// and repeats the cycle until ctx ends.
func (r *churnRun) worker(ctx context.Context, id int) error {
	var lat Histogram
	defer func() {
		r.mu.Lock()
		r.lat.Merge(&lat)
		r.mu.Unlock()
	}()
	var conn *amqp.Connection
	var ch *amqp.Channel
	var queue string
	if r.cfg.What != ChurnConnection {
		var err error
		if conn, err = amqp.Dial(r.cfg.URI); err != nil {
			return err
		}
		defer conn.Close()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
		if r.cfg.What != ChurnChannel {
			if ch, err = conn.Channel(); err != nil {
				return err
			}
		}
		if r.cfg.What == ChurnBinding {
			q, err := ch.QueueDeclare("", false, true, true, false, nil)
			if err != nil {
				return err
			}
			queue = q.Name
		}
	}
	key := fmt.Sprintf("churn-%d", id)
	for ctx.Err() == nil {
		start := r.now()
		var err error
		switch r.cfg.What {
		case ChurnConnection:
			var c *amqp.Connection
			if c, err = amqp.Dial(r.cfg.URI); err == nil {
				err = c.Close()
			}
		case ChurnChannel:
			var c *amqp.Channel
			if c, err = conn.Channel(); err == nil {
				err = c.Close()
			}
		case ChurnQueue:
			var q amqp.Queue
			if q, err = ch.QueueDeclare("", false, true, true, false, nil); err == nil {
				_, err = ch.QueueDelete(q.Name, false, false, false)
			}
		case ChurnBinding:
			if err = ch.QueueBind(queue, key, "amq.direct", false, nil); err == nil {
				err = ch.QueueUnbind(queue, key, "amq.direct", nil)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("bench: churn %s: %w", r.cfg.What, err)
		}
		if end := r.now(); start >= r.from && end <= r.to {
			r.cycles.Add(1)
			lat.Record(end - start)
		}
	}
	return nil
}
