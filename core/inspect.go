package core

import "github.com/junctionmq/junction/core/message"

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
