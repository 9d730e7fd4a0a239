package core

import (
	"sync"
	"sync/atomic"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/tally"
)

// Read-only accessors for the management API and metrics: they copy what
// they return and change nothing.

// QueueArguments returns the arguments queue name was declared with,
// before policies (what a definitions export and the management API show
// as "arguments"); ok is false when the vhost has no such queue.
func (v *Vhost) QueueArguments(name string) (args message.Table, ok bool) {
	v.mu.RLock()
	d, ok := v.declared[name]
	v.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return append(message.Table(nil), d.table...), true
}

// Counters are the broker's message totals since Open, read by the
// metrics endpoint.
type Counters struct {
	Published    uint64 // messages Publish routed, or found no queue for
	Unroutable   uint64 // published messages no queue or stream took
	DeadLettered uint64 // messages queues dead-lettered (republished to their dead-letter exchange)

	// PublishedBy counts Published by the face each message entered
	// through (message.Face: core, amqp, mqtt, sqs, sns, kinesis).
	PublishedBy [NumFaces]uint64
}

// NumFaces bounds message.Face values Counters.PublishedBy counts; an
// unknown face counts as core.
const NumFaces = int(message.FaceKinesis) + 1

// counters are the atomics behind Counters; Publish adds to them without
// allocating.
type counters struct {
	published, unroutable, deadLettered atomic.Uint64
	byFace                              [NumFaces]atomic.Uint64

	retiredMu sync.Mutex   // guards retired; taken before a vhost's lock
	retired   queue.Counts // the counts of deleted queues (QueueTotals)
}

// countPublish adds one published message entering through face f.
func (c *counters) countPublish(f message.Face, routed bool) {
	c.published.Add(1)
	if int(f) >= NumFaces {
		f = message.FaceCore
	}
	c.byFace[f].Add(1)
	if !routed {
		c.unroutable.Add(1)
	}
}

// Counters returns the broker's message totals.
func (b *Broker) Counters() Counters {
	n := Counters{Published: b.counters.published.Load(), Unroutable: b.counters.unroutable.Load(),
		DeadLettered: b.counters.deadLettered.Load()}
	for i := range n.PublishedBy {
		n.PublishedBy[i] = b.counters.byFace[i].Load()
	}
	return n
}

// Tally returns the per-face message counters: faces count the messages
// they hand to clients and the ones they drop there, queues count their
// drops under the face each message entered through.
func (b *Broker) Tally() *tally.Faces { return &b.tally }

// QueueTotals sums the message counts (queue.Counts) of every queue the
// broker has had since Open, deleted ones included, so that each total
// only grows: a queue's counts move to the retired sum as it is
// forgotten, under the same lock this takes.
func (b *Broker) QueueTotals() queue.Counts {
	b.counters.retiredMu.Lock()
	defer b.counters.retiredMu.Unlock()
	t := b.counters.retired
	for _, v := range b.Vhosts() {
		for _, q := range v.Queues() {
			t.Add(q.Counts())
		}
	}
	return t
}

// retire moves a forgotten queue's counts to the retired sum; forget
// removes it from its vhost, under the same lock.
func (b *Broker) retire(q *queue.Queue, forget func()) {
	b.counters.retiredMu.Lock()
	defer b.counters.retiredMu.Unlock()
	forget()
	b.counters.retired.Add(q.Counts())
}
