package core

import (
	"sync/atomic"

	"github.com/junctionmq/junction/core/message"
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
}

// counters are the atomics behind Counters; Publish adds to them without
// allocating.
type counters struct {
	published, unroutable, deadLettered atomic.Uint64
}

// Counters returns the broker's message totals.
func (b *Broker) Counters() Counters {
	return Counters{Published: b.counters.published.Load(), Unroutable: b.counters.unroutable.Load(),
		DeadLettered: b.counters.deadLettered.Load()}
}
