package bench

import (
	"context"
	"sync/atomic"
	"syscall"
	"time"
)

// maxBatchBytes bounds how many body bytes one producer write carries.
const maxBatchBytes = 128 << 10

// maxBatch bounds how many messages one producer write carries.
const maxBatch = 64

// batchSize is how many messages of size bytes a producer batches.
func batchSize(size int) int { return max(1, min(maxBatch, maxBatchBytes/size)) }

// pacer schedules publishes at a fixed rate; the zero pacer (interval 0)
// schedules every message at once.
type pacer struct {
	start    int64   // nanoseconds since epoch of message 0
	interval float64 // nanoseconds between messages
	i        int64   // next message
}

// newPacer paces one producer's share of rate msg/s from now.
func newPacer(r *run) pacer {
	if r.cfg.Rate <= 0 {
		return pacer{}
	}
	perProducer := r.cfg.Rate / float64(max(r.cfg.Producers, 1))
	return pacer{start: r.now(), interval: 1e9 / perProducer}
}

// next returns the scheduled time of the next message.
func (p *pacer) next() int64 { return p.start + int64(float64(p.i)*p.interval) }

// due fills stamps with the send times of up to len(stamps) messages due
// at now and returns how many; unpaced, all are due now.
func (p *pacer) due(now int64, stamps []int64) int {
	if p.interval == 0 {
		for i := range stamps {
			stamps[i] = now
		}
		return len(stamps)
	}
	n := 0
	for n < len(stamps) && p.next() <= now {
		stamps[n] = p.next()
		p.i++
		n++
	}
	return n
}

// wait sleeps until the next message is due or ctx ends, and wakes on
// time: latency is measured from the scheduled send time, so a producer
// that wakes late counts against the broker. Go's timers wake up to a
// millisecond late on Linux (the netpoller sleeps in whole milliseconds),
// which at 1,000 msg/s was the whole ~0.6 ms p50 of every broker. So the
// timer only covers what lies beyond timerSlack; a nanosleep(2) of the
// thread (tens of µs late) covers the rest but spinMargin, and a spin
// the last stretch.
func (p *pacer) wait(ctx context.Context, now int64) error {
	at := p.next()
	base := time.Now() // the run's clock reads now at base
	clock := func() int64 { return now + int64(time.Since(base)) }
	if d := at - now - int64(timerSlack); d > 0 {
		t := time.NewTimer(time.Duration(d))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	if d := at - clock() - int64(spinMargin); d > 0 {
		ts := syscall.NsecToTimespec(d)
		syscall.Nanosleep(&ts, nil)
	}
	for clock() < at {
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

const (
	// timerSlack is how late a Go timer may wake: the netpoller's sleep
	// is rounded up to whole milliseconds.
	timerSlack = 2 * time.Millisecond
	// spinMargin is how much earlier than due the producer's nanosleep
	// ends (a thread's default timer slack is 50 µs), to spin the rest.
	spinMargin = 100 * time.Microsecond
)

// window is a publisher-confirm window: at most cap(tokens) messages are
// unconfirmed; sent holds each one's send time plus one (0: confirmed),
// indexed by sequence number modulo the window.
type window struct {
	tokens chan struct{}
	sent   []atomic.Int64
	low    uint64 // highest sequence a multiple ack confirmed; reader only
}

func newWindow(n int) *window {
	return &window{tokens: make(chan struct{}, n), sent: make([]atomic.Int64, n)}
}

// acquire takes between 1 and want slots, blocking for the first.
func (w *window) acquire(ctx context.Context, want int) (int, error) {
	select {
	case w.tokens <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	n := 1
	for n < want {
		select {
		case w.tokens <- struct{}{}:
			n++
		default:
			return n, nil
		}
	}
	return n, nil
}

// sending records that message seq was sent at t.
func (w *window) sending(seq uint64, t int64) {
	w.sent[seq%uint64(len(w.sent))].Store(t + 1)
}

// confirm marks seq (and, if multiple, every earlier one) confirmed at
// now, records confirm latencies in h and returns how many it confirmed.
func (w *window) confirm(seq uint64, multiple bool, now int64, h *Histogram) int {
	from := seq
	if multiple {
		from = w.low + 1
		w.low = max(w.low, seq)
	}
	n := 0
	for s := from; s <= seq; s++ {
		if t := w.sent[s%uint64(len(w.sent))].Swap(0); t != 0 {
			h.Record(now - (t - 1))
			<-w.tokens
			n++
		}
	}
	return n
}
