package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// IdleConfig is the idle-connections scenario: open Conns AMQP or MQTT
// connections that then stay silent (heartbeats and keep-alive off) and
// compare the broker's resident memory before and after.
type IdleConfig struct {
	URI       string        `json:"-"`
	Proto     string        `json:"proto,omitempty"` // "amqp" (default) or "mqtt"
	Conns     int           `json:"conns"`
	Parallel  int           `json:"parallel"`       // concurrent dials
	Channel   bool          `json:"channel"`        // AMQP: also open one channel each
	Settle    time.Duration `json:"-"`              // wait before each RSS reading
	BrokerPID int           `json:"-"`              // required
	Hold      time.Duration `json:"hold,omitempty"` // keep the connections this long after measuring
	Broker    string        `json:"-"`
	Scenario  string        `json:"-"`
}

// RunIdle runs the idle-connections scenario once.
func RunIdle(ctx context.Context, cfg IdleConfig) (*Result, error) {
	host, _ := os.Hostname()
	res := &Result{Time: "", Broker: cfg.Broker, Scenario: cfg.Scenario, Kind: "idle", Client: ClientNative,
		Host: host, CPUs: runtime.NumCPU(), Settings: cfg, Conns: cfg.Conns}
	if res.Scenario == "" {
		res.Scenario = "idle"
		if cfg.Proto == "mqtt" {
			res.Scenario = "idle-mqtt"
		}
	}
	if err := sleepCtx(ctx, cfg.Settle); err != nil {
		return nil, err
	}
	before, _, err := ProcMem(cfg.BrokerPID)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	conns, failures := dialMany(ctx, cfg)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	res.ConnectSec = time.Since(start).Seconds()
	res.ConnectFailures = failures
	if err := sleepCtx(ctx, cfg.Settle); err != nil {
		return nil, err
	}
	after, hwm, err := ProcMem(cfg.BrokerPID)
	if err != nil {
		return nil, err
	}
	res.RSSBeforeMiB, res.RSSAfterMiB, res.BrokerRSSMiB, res.BrokerHWMMiB = mib(before), mib(after), mib(after), mib(hwm)
	if n := len(conns); n > 0 {
		res.RSSPerConnKiB = float64(after-before) / 1024 / float64(n)
	}
	if err := sleepCtx(ctx, cfg.Hold); err != nil {
		return nil, err
	}
	res.Time = time.Now().UTC().Format(time.RFC3339)
	return res, nil
}

// dialMany opens cfg.Conns connections, cfg.Parallel at a time, and
// returns those that opened and how many failed.
func dialMany(ctx context.Context, cfg IdleConfig) ([]io.Closer, int) {
	conns := make([]io.Closer, cfg.Conns)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range max(cfg.Parallel, 1) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(conns)) {
					return
				}
				c, err := dialIdle(cfg, i)
				if err != nil {
					failed.Add(1)
					continue
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	opened := conns[:0]
	for _, c := range conns {
		if c != nil {
			opened = append(opened, c)
		}
	}
	return opened, int(failed.Load())
}

// dialIdle opens idle connection number i.
func dialIdle(cfg IdleConfig, i int64) (io.Closer, error) {
	if cfg.Proto == "mqtt" {
		return DialMQTTIdle(cfg.URI, fmt.Sprintf("idle-%d-%d", os.Getpid(), i), 30*time.Second)
	}
	c, err := DialNative(cfg.URI, 30*time.Second)
	if err != nil {
		return nil, err
	}
	if cfg.Channel {
		if err := c.OpenChannel(1); err != nil {
			c.Abort()
			return nil, err
		}
	}
	return abortCloser{c}, nil
}

// abortCloser closes a NativeConn without the closing handshake.
type abortCloser struct{ c *NativeConn }

func (a abortCloser) Close() error { return a.c.Abort() }

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
