package awsgw

import (
	"bytes"
	"container/heap"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/tally"
)

// Push delivery: http(s), amqp and mqtt subscriptions are fed by a
// durable core queue of their own ("sns-subscription.<id>"), bound to the
// topic's exchange with the subscription's filter and envelope. A push
// consumer hands each delivery to one worker pool, which POSTs it (http)
// or republishes it (amqp, mqtt), then acks it. A failed POST is retried
// with exponential back-off while the delivery stays unacked (the
// consumer's prefetch bounds how many wait), then dead-lettered to the
// RedrivePolicy queue, if any, or dropped.
const (
	pushWorkers     = 8
	pushPrefetch    = 32
	pushMaxAttempts = 8
	pushTimeout     = 15 * time.Second
)

// pushJob is one delivery attempt.
type pushJob struct {
	due     time.Time
	attempt int
	run     *subRun        // nil for a confirmation
	d       queue.Delivery // the delivery of run
	confirm *snsSub        // the subscription to send a SubscriptionConfirmation to
}

// jobHeap orders jobs by due time.
type jobHeap []*pushJob

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(*pushJob)) }
func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return j
}

// pushPool is the one pool of workers that delivers every push
// subscription.
type pushPool struct {
	s       *snsService
	client  *http.Client
	backoff func(attempt int) time.Duration

	mu   sync.Mutex // guards jobs
	jobs jobHeap
	wake chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newPushPool(s *snsService, workers int) *pushPool {
	p := &pushPool{s: s, client: &http.Client{Timeout: pushTimeout}, wake: make(chan struct{}, 1),
		backoff: func(attempt int) time.Duration {
			return min(time.Second<<min(attempt, 10), 20*time.Second)
		}}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	for range workers {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

// close stops the workers; unacked deliveries return to their queues
// when the broker recovers them.
func (p *pushPool) close() {
	p.cancel()
	p.wg.Wait()
}

// add schedules a job. It never blocks (Deliver calls it under a queue lock).
func (p *pushPool) add(j *pushJob) {
	p.mu.Lock()
	heap.Push(&p.jobs, j)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// confirm schedules a SubscriptionConfirmation.
func (p *pushPool) confirm(sub *snsSub) { p.add(&pushJob{due: time.Now(), confirm: sub.clone()}) }

// next waits for a due job (nil when the pool stops).
func (p *pushPool) next() *pushJob {
	for {
		now := time.Now()
		p.mu.Lock()
		if len(p.jobs) > 0 && !p.jobs[0].due.After(now) {
			j := heap.Pop(&p.jobs).(*pushJob)
			more := len(p.jobs) > 0 && !p.jobs[0].due.After(now)
			p.mu.Unlock()
			if more {
				select {
				case p.wake <- struct{}{}:
				default:
				}
			}
			return j
		}
		wait := time.Minute
		if len(p.jobs) > 0 {
			wait = p.jobs[0].due.Sub(now)
		}
		p.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-p.wake:
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
			return nil
		}
		t.Stop()
	}
}

func (p *pushPool) work() {
	defer p.wg.Done()
	for j := p.next(); j != nil; j = p.next() {
		p.run(j)
	}
}

// run makes one attempt and settles or reschedules the job.
func (p *pushPool) run(j *pushJob) {
	var err error
	switch {
	case j.confirm != nil:
		err = p.sendConfirmation(j.confirm)
	case j.run.closed.Load():
		return
	default:
		err = p.deliver(j.run, j.d)
	}
	if err == nil {
		if j.run != nil {
			p.s.pushed(j.run.sub)
			_ = j.d.Queue.Ack(j.d.Seq)
		}
		return
	}
	j.attempt++
	if j.attempt < pushMaxAttempts && p.ctx.Err() == nil {
		j.due = time.Now().Add(p.backoff(j.attempt))
		p.add(j)
		return
	}
	if j.run != nil {
		p.s.log.Warn("sns: delivery failed", "subscription", j.run.sub.arn(), "attempts", j.attempt, "err", err)
		p.s.deadLetter(j.run.sub, j.d.Msg)
		_ = j.d.Queue.Ack(j.d.Seq)
	}
}

// deliver pushes one message to its endpoint.
func (p *pushPool) deliver(r *subRun, d queue.Delivery) error {
	switch r.sub.Protocol {
	case "http", "https":
		h := http.Header{}
		h.Set("x-amz-sns-message-type", "Notification")
		h.Set("x-amz-sns-message-id", d.Msg.Props.MessageID)
		h.Set("x-amz-sns-topic-arn", r.sub.TopicArn)
		h.Set("x-amz-sns-subscription-arn", r.sub.arn())
		if r.sub.Attrs["RawMessageDelivery"] == "true" {
			h.Set("x-amz-sns-rawdelivery", "true")
		}
		return p.post(r.sub.Endpoint, h, d.Msg.Body)
	default:
		return p.s.forward(p.ctx, r.sub, d.Msg)
	}
}

// post sends one HTTP POST; any 2xx is success.
func (p *pushPool) post(endpoint string, h http.Header, body []byte) error {
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h
	req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &httpStatusError{resp.StatusCode}
	}
	return nil
}

type httpStatusError struct{ code int }

func (e *httpStatusError) Error() string { return "endpoint answered " + http.StatusText(e.code) }

// sendConfirmation POSTs a signed SubscriptionConfirmation.
func (p *pushPool) sendConfirmation(sub *snsSub) error {
	env := &snsEnvelope{Type: "SubscriptionConfirmation", MessageId: newUUID(), Token: sub.Token,
		TopicArn: sub.TopicArn,
		Message: "You have chosen to subscribe to the topic " + sub.TopicArn +
			".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: snsURL(sub.BaseURL, "Action", "ConfirmSubscription", "TopicArn", sub.TopicArn, "Token", sub.Token),
		Timestamp:    time.Now().UTC().Format(snsTimeFormat)}
	if err := p.s.signEnvelope(env, p.s.topicSigVersion(sub.Vhost, sub.Topic), sub.BaseURL); err != nil {
		return err
	}
	h := http.Header{}
	h.Set("x-amz-sns-message-type", env.Type)
	h.Set("x-amz-sns-message-id", env.MessageId)
	h.Set("x-amz-sns-topic-arn", sub.TopicArn)
	return p.post(sub.Endpoint, h, env.encode())
}

// pushed counts a delivery pushed to an http(s) endpoint: the other
// protocols republish to the core, and the face that hands the message to
// its client counts it.
func (s *snsService) pushed(sub *snsSub) {
	if sub.Protocol == "http" || sub.Protocol == "https" {
		s.b.Tally().Face(message.FaceSNS).Delivered(1)
	}
}

// deadLetter sends a message that could not be delivered to the
// subscription's RedrivePolicy queue (by the default exchange).
func (s *snsService) deadLetter(sub *snsSub, m *message.Message) {
	dlq := redriveQueue(sub)
	if dlq == "" {
		s.b.Tally().Face(message.FaceSNS).Dropped(tally.PushFailed, 1)
		return
	}
	v, err := s.b.Vhost(sub.Vhost)
	if err != nil {
		return
	}
	c := *m
	c.Exchange, c.RoutingKey = "", dlq
	_, _ = v.Publish(&c, nil)
}
