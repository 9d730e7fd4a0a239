package bench

import (
	"testing"
	"time"
)

func TestRunAMQPAgainstFakeBroker(t *testing.T) {
	tests := []struct {
		name string
		cfg  AMQPConfig
	}{
		{"native autoack", AMQPConfig{Client: ClientNative, AutoAck: true}},
		{"native ack every 10, confirms", AMQPConfig{Client: ClientNative, AckEvery: 10, Prefetch: 100, Confirm: 100, Persistent: true}},
		{"native fixed rate", AMQPConfig{Client: ClientNative, AutoAck: true, Rate: 2000}},
		{"amqp091 ack, confirms", AMQPConfig{Client: ClientAMQP091, Prefetch: 100, Confirm: 50}},
		{"amqp091 fixed rate", AMQPConfig{Client: ClientAMQP091, AutoAck: true, Rate: 2000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startFakeBroker(t)
			cfg := tt.cfg
			cfg.URI, cfg.Producers, cfg.Consumers, cfg.Size = b.uri(), 1, 1, 100
			// Long enough for a few messages in the window even when the
			// machine is loaded and the race detector on (300 ms once
			// measured nothing at all under another package's tests).
			cfg.Duration, cfg.Warmup = time.Second, 100*time.Millisecond
			r, err := RunAMQP(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Published == 0 || r.Delivered == 0 || r.LatencyP99Ms <= 0 {
				t.Fatalf("published %d delivered %d p99 %v ms", r.Published, r.Delivered, r.LatencyP99Ms)
			}
			if cfg.Confirm > 0 && (r.Confirmed == 0 || r.ConfirmP99Ms <= 0) {
				t.Errorf("confirmed %d, confirm p99 %v ms", r.Confirmed, r.ConfirmP99Ms)
			}
			if !cfg.AutoAck && b.acks.Load() == 0 {
				t.Error("no acks reached the broker")
			}
			if cfg.Rate > 0 && (r.PublishRate < cfg.Rate*0.8 || r.PublishRate > cfg.Rate*1.2) {
				t.Errorf("publish rate %v, want about %v", r.PublishRate, cfg.Rate)
			}
			// At a fixed rate, latency splits into the producer's
			// lateness and transit; both are recorded and transit never
			// exceeds the whole.
			if cfg.Rate > 0 && (r.TransitP99Ms <= 0 || r.TransitP50Ms > r.LatencyP50Ms*1.01 || r.LateP99Ms < 0) {
				t.Errorf("transit p50/p99 %v/%v ms, late p99 %v ms, latency p50 %v ms",
					r.TransitP50Ms, r.TransitP99Ms, r.LateP99Ms, r.LatencyP50Ms)
			}
			if cfg.Rate == 0 && (r.TransitP99Ms != 0 || r.LateP99Ms != 0) {
				t.Errorf("unpaced run reports transit %v ms, late %v ms", r.TransitP99Ms, r.LateP99Ms)
			}
			// The native producer writes up to 64 publishes at once; the
			// broker reads them in one go (allow for TCP splitting them).
			if cfg.Client == ClientNative && cfg.Rate == 0 && b.maxBatch.Load() < 16 {
				t.Errorf("at most %d publishes per read: the native client does not batch", b.maxBatch.Load())
			}
		})
	}
}
