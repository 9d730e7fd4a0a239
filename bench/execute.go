package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

// consumerQueues splits queues among n consumers: with more queues than
// consumers each consumer takes several; with fewer, queues are shared.
func consumerQueues(queues []string, n int) [][]string {
	out := make([][]string, n)
	if len(queues) >= n {
		for i, q := range queues {
			out[i%n] = append(out[i%n], q)
		}
		return out
	}
	for i := range out {
		out[i] = []string{queues[i%len(queues)]}
	}
	return out
}

// execute starts consumers, then producers, measures the window after the
// warm-up, stops everything and builds the result.
func (r *run) execute(ctx context.Context, lc loadClient) (*Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	fail := func(err error) {
		if err != nil && ctx.Err() == nil {
			cancel(err)
		}
	}
	if err := r.startConsumers(ctx, lc, &wg, fail); err != nil {
		cancel(err)
		wg.Wait()
		return nil, err
	}
	start := r.now()
	r.from = start + int64(r.cfg.Warmup)
	r.to = r.from + int64(r.cfg.Duration)
	for range r.cfg.Producers {
		wg.Go(func() { fail(lc.produce(ctx, r)) })
	}
	before, err := r.sample(ctx, r.from)
	if err == nil {
		var after sample
		after, err = r.sample(ctx, r.to)
		if err == nil {
			cancel(nil)
			wg.Wait()
			return r.result(before, after), nil
		}
	}
	cancel(err)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	return nil, err
}

// startConsumers starts the consumers and waits until each consumes.
func (r *run) startConsumers(ctx context.Context, lc loadClient, wg *sync.WaitGroup, fail func(error)) error {
	if r.cfg.Consumers == 0 {
		return nil
	}
	ready := make(chan struct{}, r.cfg.Consumers)
	for _, qs := range consumerQueues(r.queues, r.cfg.Consumers) {
		wg.Go(func() { fail(lc.consume(ctx, r, qs, func() { ready <- struct{}{} })) })
	}
	timeout := time.After(30 * time.Second)
	for range r.cfg.Consumers {
		select {
		case <-ready:
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-timeout:
			return errors.New("bench: consumers not ready after 30 s")
		}
	}
	return nil
}

// sample is the CPU and memory reading at one end of the window.
type sample struct {
	self, broker time.Duration
	rss, hwm     int64
}

// sample waits until t (nanoseconds since epoch) and reads CPU times.
func (r *run) sample(ctx context.Context, t int64) (sample, error) {
	return sampleAt(ctx, r.epoch, t, r.cfg.BrokerPID)
}

// sampleAt waits until t nanoseconds after epoch and reads this process's
// CPU time and, when pid > 0, the broker's CPU time and memory.
func sampleAt(ctx context.Context, epoch time.Time, t int64, pid int) (sample, error) {
	select {
	case <-time.After(time.Duration(t - int64(time.Since(epoch)))):
	case <-ctx.Done():
		return sample{}, context.Cause(ctx)
	}
	s := sample{self: SelfCPU()}
	if pid > 0 {
		var err error
		if s.broker, err = ProcCPU(pid); err != nil {
			return s, err
		}
		if s.rss, s.hwm, err = ProcMem(pid); err != nil {
			return s, err
		}
	}
	return s, nil
}

// measureWindow samples CPU and memory at from and to (nanoseconds since
// epoch) while the load goroutines in wg run, then cancels them and waits.
// The error is the load's own failure (cancel's cause) when there was one.
func measureWindow(ctx context.Context, cancel context.CancelCauseFunc, wg *sync.WaitGroup,
	epoch time.Time, from, to int64, pid int) (before, after sample, err error) {
	before, err = sampleAt(ctx, epoch, from, pid)
	if err == nil {
		after, err = sampleAt(ctx, epoch, to, pid)
	}
	cancel(nil)
	wg.Wait()
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
	}
	return before, after, err
}

// addCPU fills the CPU and memory figures from the window's two samples,
// per message over msgs messages.
func (res *Result) addCPU(before, after sample, msgs int64, pid int) {
	perMsg := float64(max(msgs, 1))
	res.ClientCPUSec = (after.self - before.self).Seconds()
	res.ClientCPUPerMsg = res.ClientCPUSec * 1e6 / perMsg
	if pid > 0 {
		res.BrokerCPUSec = (after.broker - before.broker).Seconds()
		res.BrokerCPUPerMsg = res.BrokerCPUSec * 1e6 / perMsg
		res.BrokerRSSMiB = mib(after.rss)
		res.BrokerHWMMiB = mib(after.hwm)
	}
}

// result builds the run's Result from the counters and the two samples.
func (r *run) result(before, after sample) *Result {
	secs := r.cfg.Duration.Seconds()
	host, _ := os.Hostname()
	res := &Result{
		Time: time.Now().UTC().Format(time.RFC3339), Broker: r.cfg.Broker, Scenario: r.cfg.Scenario,
		Kind: "amqp", Client: r.cfg.Client, Host: host, CPUs: runtime.NumCPU(), Settings: r.cfg,
		DurationSec: secs,
		Published:   r.published.Load(), Delivered: r.delivered.Load(), Confirmed: r.confirmed.Load(),
	}
	if res.Scenario == "" {
		res.Scenario = r.cfg.name()
	}
	res.PublishRate = float64(res.Published) / secs
	res.DeliverRate = float64(res.Delivered) / secs
	r.mu.Lock()
	res.LatencyP50Ms = ms(r.latency.Quantile(0.50))
	res.LatencyP99Ms = ms(r.latency.Quantile(0.99))
	res.LatencyMaxMs = ms(r.latency.Max())
	res.ConfirmP50Ms = ms(r.confirms.Quantile(0.50))
	res.ConfirmP99Ms = ms(r.confirms.Quantile(0.99))
	if r.paced() {
		res.LateP50Ms, res.LateP99Ms = ms(r.late.Quantile(0.50)), ms(r.late.Quantile(0.99))
		res.TransitP50Ms, res.TransitP99Ms = ms(r.transit.Quantile(0.50)), ms(r.transit.Quantile(0.99))
	}
	r.mu.Unlock()
	res.addCPU(before, after, max(res.Delivered, res.Published, 1), r.cfg.BrokerPID)
	return res
}

// name derives a scenario label from the settings.
func (cfg *AMQPConfig) name() string {
	s := fmt.Sprintf("p%dc%d-%dB", cfg.Producers, cfg.Consumers, cfg.Size)
	switch {
	case cfg.AutoAck:
		s += "-autoack"
	default:
		s += fmt.Sprintf("-ack%d-prefetch%d", cfg.AckEvery, cfg.Prefetch)
	}
	if cfg.Persistent {
		s += "-persistent"
	}
	if cfg.Confirm > 0 {
		s += fmt.Sprintf("-confirm%d", cfg.Confirm)
	}
	if cfg.Tx > 0 {
		s += fmt.Sprintf("-tx%d", cfg.Tx)
	}
	if cfg.Queues > 1 {
		s += fmt.Sprintf("-fanout%d", cfg.Queues)
	}
	if cfg.Rate > 0 {
		s += fmt.Sprintf("-rate%g", cfg.Rate)
	}
	return s
}

// ms converts nanoseconds to milliseconds.
func ms(ns int64) float64 { return float64(ns) / 1e6 }
