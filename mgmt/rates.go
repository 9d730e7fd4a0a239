package mgmt

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/junctionmq/junction/core/queue"
)

// Message rates, as RabbitMQ's management plugin shows them: every
// collect_statistics_interval (5 s) the sampler reads the core's counters
// (core.Broker.Counters, queue.Queue.Counts and Stats), keeps the last two
// samples, and the API shows the totals with their per-second rate over
// that interval ({"publish": 10, "publish_details": {"rate": 2.0}}).
// Rates are 0 until two samples exist.

// defaultStatsInterval is RabbitMQ's collect_statistics_interval.
const defaultStatsInterval = 5 * time.Second

// WithStatsInterval sets how often message rates are sampled (default
// 5 s, RabbitMQ's collect_statistics_interval).
func WithStatsInterval(d time.Duration) Option { return func(o *options) { o.statsInterval = d } }

// msgCounts are the message totals rates are computed for.
type msgCounts struct {
	publish, deliver, deliverNoAck, get, getNoAck, ack, redeliver, unroutable uint64
}

// countsOf turns a queue's counts into msgCounts.
func countsOf(c queue.Counts) msgCounts {
	return msgCounts{publish: c.Published, deliver: c.Delivered, deliverNoAck: c.DeliveredNoAck, get: c.Got,
		getNoAck: c.GotNoAck, ack: c.Acked, redeliver: c.Redelivered}
}

// depth is a queue's message counts at a sample.
type depth struct{ messages, ready, unacked int }

// queueSample is one queue at one sample.
type queueSample struct {
	counts msgCounts
	depth  depth
}

// sample is the state at one tick.
type sample struct {
	at     time.Time
	node   msgCounts // node-wide totals (deleted queues keep their share)
	depth  depth     // node-wide queue totals
	queues map[*queue.Queue]queueSample
}

// rates samples the counters on a ticker and answers rate queries. The
// ticker runs from the first Serve to Shutdown, so a server that never
// serves (its listener off) starts no goroutine; without it a request
// samples once (totals, no rates).
type rates struct {
	s        *Server
	interval time.Duration
	wg       sync.WaitGroup
	first    sync.Once // the first sample: by start, or by a request when the ticker never ran

	lifeMu  sync.Mutex // guards cancel and stopped; a leaf
	cancel  context.CancelFunc
	stopped bool

	mu        sync.Mutex // guards cur and prev; a leaf
	cur, prev *sample
}

// newRates returns the sampler, not started.
func newRates(s *Server) *rates {
	r := &rates{s: s, interval: s.opts.statsInterval}
	if r.interval <= 0 {
		r.interval = defaultStatsInterval
	}
	return r
}

// start starts the ticker unless it runs or was stopped.
func (r *rates) start() {
	r.lifeMu.Lock()
	if r.cancel != nil || r.stopped {
		r.lifeMu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	r.lifeMu.Unlock()
	r.first.Do(r.take)
	go r.run(ctx)
}

// run samples every interval until ctx ends.
func (r *rates) run(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.take()
		}
	}
}

// stop ends the ticker and waits for it.
func (r *rates) stop() {
	r.lifeMu.Lock()
	r.stopped = true
	if r.cancel != nil {
		r.cancel()
	}
	r.lifeMu.Unlock()
	r.wg.Wait()
}

// take reads every counter once. Each queue's lock is taken alone
// (Counts, Stats), the node totals from core.Broker.QueueTotals (which
// keep deleted queues' shares); r.mu only to swap the samples.
func (r *rates) take() {
	smp := &sample{at: time.Now(), queues: map[*queue.Queue]queueSample{}}
	for _, v := range r.s.b.Vhosts() {
		for _, q := range v.Queues() {
			st := q.Stats()
			unacked := st.Unacked + st.Leased
			d := depth{messages: st.Ready + unacked, ready: st.Ready, unacked: unacked}
			smp.queues[q] = queueSample{counts: countsOf(q.Counts()), depth: d}
			smp.depth.messages += d.messages
			smp.depth.ready += d.ready
			smp.depth.unacked += d.unacked
		}
	}
	smp.node = countsOf(r.s.b.QueueTotals())
	bc := r.s.b.Counters()
	smp.node.publish, smp.node.unroutable = bc.Published, bc.Unroutable
	r.mu.Lock()
	r.prev, r.cur = r.cur, smp
	r.mu.Unlock()
}

// details is RabbitMQ's {"rate": r}.
type details struct {
	Rate float64 `json:"rate"`
}

// rate is the per-second change from before to after over dt, rounded to
// one decimal as RabbitMQ shows it; 0 without an interval.
func rate(before, after float64, dt time.Duration) details {
	if dt <= 0 {
		return details{}
	}
	return details{Rate: math.Round((after-before)/dt.Seconds()*10) / 10}
}

// statsJSON renders counts as RabbitMQ's message_stats, with rates from
// prev to cur over dt. overview adds the node-only figures.
func statsJSON(prev, cur msgCounts, dt time.Duration, overview bool) map[string]any {
	out := map[string]any{}
	put := func(name string, b, a uint64) {
		out[name] = a
		out[name+"_details"] = rate(float64(b), float64(a), dt)
	}
	put("publish", prev.publish, cur.publish)
	put("deliver", prev.deliver, cur.deliver)
	put("deliver_no_ack", prev.deliverNoAck, cur.deliverNoAck)
	put("get", prev.get, cur.get)
	put("get_no_ack", prev.getNoAck, cur.getNoAck)
	put("deliver_get", prev.deliver+prev.deliverNoAck+prev.get+prev.getNoAck,
		cur.deliver+cur.deliverNoAck+cur.get+cur.getNoAck)
	put("ack", prev.ack, cur.ack)
	put("redeliver", prev.redeliver, cur.redeliver)
	if overview {
		put("drop_unroutable", prev.unroutable, cur.unroutable)
	}
	return out
}

// last returns the two newest samples (prev may be nil), sampling once
// if the ticker never ran.
func (r *rates) last() (prev, cur *sample) {
	r.mu.Lock()
	prev, cur = r.prev, r.cur
	r.mu.Unlock()
	if cur == nil {
		r.first.Do(r.take)
		r.mu.Lock()
		prev, cur = r.prev, r.cur
		r.mu.Unlock()
	}
	return prev, cur
}

// overview returns the overview's message_stats and the rates of its
// queue_totals.
func (r *rates) overview() (stats map[string]any, depthRates map[string]details) {
	prev, cur := r.last()
	if prev == nil {
		prev = cur
	}
	dt := cur.at.Sub(prev.at)
	return statsJSON(prev.node, cur.node, dt, true), depthDetails(prev.depth, cur.depth, dt)
}

// depthDetails are messages_details, messages_ready_details and
// messages_unacknowledged_details.
func depthDetails(b, a depth, dt time.Duration) map[string]details {
	return map[string]details{
		"messages_details":                rate(float64(b.messages), float64(a.messages), dt),
		"messages_ready_details":          rate(float64(b.ready), float64(a.ready), dt),
		"messages_unacknowledged_details": rate(float64(b.unacked), float64(a.unacked), dt),
	}
}

// queue returns a queue's message_stats and depth rates; ok is false
// before the queue was first sampled.
func (r *rates) queue(q *queue.Queue) (stats map[string]any, depthRates map[string]details, ok bool) {
	prev, cur := r.last()
	c, ok := cur.queues[q]
	if !ok {
		return nil, nil, false
	}
	p := c
	var dt time.Duration
	if prev != nil {
		if pq, seen := prev.queues[q]; seen {
			p, dt = pq, cur.at.Sub(prev.at)
		}
	}
	return statsJSON(p.counts, c.counts, dt, false), depthDetails(p.depth, c.depth, dt), true
}
