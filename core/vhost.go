package core

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
)

// Vhost is one virtual host: its routing table and its queues. All methods
// are safe for concurrent use.
type Vhost struct {
	b      *Broker
	name   string
	routes *route.Table

	mu      sync.RWMutex // guards queues and streams
	queues  map[string]*queue.Queue
	streams map[string]streamDest
	// declared holds each queue's arguments as declared, before policies:
	// a redeclare is compared with these, as RabbitMQ compares.
	declared map[string]declaration

	// policyMu serialises applying policies (policy.go), so that the last
	// application reads the latest policies. Taken before mu.
	policyMu sync.Mutex
}

// declaration is a queue's arguments as declared: parsed, and the table
// its stored definition keeps.
type declaration struct {
	args  queue.Args
	table message.Table
}

func newVhost(b *Broker, name string) *Vhost {
	return &Vhost{b: b, name: name, routes: route.NewTable(name), queues: map[string]*queue.Queue{}, streams: map[string]streamDest{},
		declared: map[string]declaration{}}
}

// Name returns the vhost's name.
func (v *Vhost) Name() string { return v.name }

// Broker returns the broker the vhost belongs to.
func (v *Vhost) Broker() *Broker { return v.b }

// Routes returns the vhost's routing table (read-only use: listing).
func (v *Vhost) Routes() *route.Table { return v.routes }

// DeclareExchange declares an exchange, or checks a redeclare against the
// existing one. With passive it only checks that the exchange exists.
func (v *Vhost) DeclareExchange(x route.Exchange, passive bool) error {
	if passive {
		_, err := v.routes.Lookup(x.Name)
		return classify(err)
	}
	if err := checkName("exchange", x.Name, v.name); err != nil {
		return err
	}
	created, err := v.routes.Declare(x)
	if err != nil {
		return classify(err)
	}
	if created {
		v.policyMu.Lock()
		v.applyExchangePolicy(x.Name)
		v.policyMu.Unlock()
	}
	if created && x.Durable {
		return v.saveExchange(x)
	}
	return nil
}

// Exchange returns an exchange's definition.
func (v *Vhost) Exchange(name string) (route.Exchange, error) {
	x, err := v.routes.Lookup(name)
	return x, classify(err)
}

// DeleteExchange deletes an exchange and its bindings.
func (v *Vhost) DeleteExchange(name string, ifUnused bool) error {
	removed, err := v.routes.Delete(name, ifUnused)
	if err != nil {
		return classify(err)
	}
	v.forgetRemoved(removed)
	return nil
}

// QueueDecl is a queue declaration.
type QueueDecl struct {
	Name       string
	Durable    bool
	Exclusive  bool
	Owner      any // the exclusive owner (a connection), compared with ==
	AutoDelete bool
	Args       message.Table
	Options    queue.Options
	Passive    bool
}

// DeclareQueue declares a queue, or checks a redeclare against the existing
// one (RabbitMQ's rules: same durability, exclusivity, auto-delete and
// arguments; an exclusive queue of another owner is locked). It reports
// whether the queue was created.
func (v *Vhost) DeclareQueue(d QueueDecl) (*queue.Queue, bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.streams[d.Name] != nil {
		return nil, false, errorf(ErrPrecondition, "inequivalent arg 'x-queue-type' for queue '%s' in vhost '%s': received 'classic' but current is 'stream'", d.Name, v.name)
	}
	if q := v.queues[d.Name]; q != nil {
		if err := v.checkOwner(q, d.Owner); err != nil {
			return nil, false, err
		}
		if d.Passive {
			return q, false, nil
		}
		if err := v.checkRedeclare(q, d); err != nil {
			return nil, false, err
		}
		q.Touch()
		return q, false, nil
	}
	if d.Passive {
		return nil, false, noQueue(d.Name, v.name)
	}
	if err := checkName("queue", d.Name, v.name); err != nil {
		return nil, false, err
	}
	if err := v.checkQueueLimit(d.Name); err != nil {
		return nil, false, err
	}
	declared, err := queue.ParseQueueArgs(v.name, d.Name, d.Args)
	if err != nil {
		return nil, false, classify(err)
	}
	args, err := queue.ParseQueueArgs(v.name, d.Name, v.effectiveQueueArgs(d.Name, d.Args, declared.Type))
	if err != nil {
		return nil, false, classify(err)
	}
	cfg := queue.Config{Name: d.Name, Vhost: v.name, Key: queueKey(v.name, d.Name),
		Durable: d.Durable, Exclusive: d.Exclusive, Owner: d.Owner, AutoDelete: d.AutoDelete,
		Args: args, Options: d.Options}
	if err := cfg.Validate(); err != nil {
		return nil, false, classify(err)
	}
	q := v.newQueue(cfg)
	if cfg.Durable && !cfg.Exclusive {
		if err := v.saveQueue(cfg, d.Args); err != nil {
			return nil, false, err
		}
	}
	v.queues[d.Name] = q
	v.declared[d.Name] = declaration{declared, d.Args}
	v.routes.AddDest(route.Dest{Kind: route.DestQueue, Name: d.Name})
	return q, true, nil
}

// checkQueueLimit refuses a new queue past MaxQueuesPerVhost or the vhost's
// limit max-queues, whichever is lower, with
// rabbit_queue_type's text (AMQP 406). Queues and AMQP stream queues
// count; Kinesis streams, which share the namespace, do not. Callers hold
// v.mu.
func (v *Vhost) checkQueueLimit(name string) error {
	limit, limited := v.b.maxQueues, v.b.maxQueues > 0
	if vh, ok := v.b.users.Vhost(v.name); ok {
		// RabbitMQ's vhost limit max-queues: 0 allows none, negative no limit.
		if n, ok := vh.Limits["max-queues"]; ok && n >= 0 && (!limited || int(n) < limit) {
			limit, limited = int(n), true
		}
	}
	if !limited || len(v.queues)+len(v.streams) < limit { // the common case, without a count
		return nil
	}
	n := len(v.queues)
	for _, d := range v.streams {
		if _, ok := d.(plainStream); ok {
			n++
		}
	}
	if n < limit {
		return nil
	}
	return &Error{Kind: ErrPrecondition, Err: ErrQueueLimit,
		Text: fmt.Sprintf("cannot declare queue '%s': queue limit in vhost '%s' (%d) is reached", name, v.name, limit)}
}

func (v *Vhost) newQueue(cfg queue.Config) *queue.Queue {
	return queue.New(cfg, queue.Deps{
		Store:        v.b.st,
		Clock:        v.b.clock,
		DeadLetter:   v.deadLetter,
		OnExpire:     v.dropQueue,
		OnAutoDelete: v.dropQueue,
		Tally:        &v.b.tally,
	})
}

func (v *Vhost) checkOwner(q *queue.Queue, owner any) error {
	cfg := q.Config()
	if cfg.Exclusive && cfg.Owner != owner {
		return errorf(ErrLocked, "cannot obtain exclusive access to locked queue '%s' in vhost '%s'. "+
			"It could be originally declared on another connection or the exclusive property value "+
			"does not match that of the original declaration.", cfg.Name, v.name)
	}
	return nil
}

func (v *Vhost) checkRedeclare(q *queue.Queue, d QueueDecl) error {
	cfg := q.Config()
	field := func(name string, cur, req bool) error {
		if cur == req {
			return nil
		}
		return errorf(ErrPrecondition, "inequivalent arg '%s' for queue '%s' in vhost '%s': received '%v' but current is '%v'",
			name, d.Name, v.name, req, cur)
	}
	if err := field("durable", cfg.Durable, d.Durable); err != nil {
		return err
	}
	if err := field("exclusive", cfg.Exclusive, d.Exclusive); err != nil {
		return err
	}
	if err := field("auto_delete", cfg.AutoDelete, d.AutoDelete); err != nil {
		return err
	}
	args, err := queue.ParseQueueArgs(v.name, d.Name, d.Args)
	if err != nil {
		return classify(err)
	}
	return classify(queue.CheckEquivalent(v.name, d.Name, v.declared[d.Name].args, args))
}

// SetQueueOptions changes a queue's Options from now on (SQS
// SetQueueAttributes: delay, retention, redrive, deduplication window; see
// queue.Queue.SetOptions) and stores them with a durable queue's
// definition, so that they survive a restart. FIFO mode cannot change
// (ErrPrecondition wrapping queue.ErrFIFOChange).
func (v *Vhost) SetQueueOptions(name string, o queue.Options) error {
	v.mu.RLock()
	q, table := v.queues[name], v.declared[name].table
	v.mu.RUnlock()
	if q == nil {
		return noQueue(name, v.name)
	}
	if err := q.SetOptions(o); err != nil {
		return classify(err)
	}
	cfg := q.Config()
	if !cfg.Durable || cfg.Exclusive {
		return nil
	}
	if err := v.saveQueue(cfg, table); err != nil {
		return err
	}
	v.mu.RLock()
	cur, table := v.queues[name], v.declared[name].table
	v.mu.RUnlock()
	switch {
	case cur == nil: // deleted meanwhile: do not resurrect its definition
		v.deleteDef(kindQueue, name)
	case cur != q: // deleted and declared again: its definition wins
		if c := cur.Config(); c.Durable && !c.Exclusive {
			return v.saveQueue(c, table)
		}
		v.deleteDef(kindQueue, name)
	}
	return nil
}

// Queue returns a queue by name.
func (v *Vhost) Queue(name string) (*queue.Queue, error) {
	v.mu.RLock()
	q := v.queues[name]
	v.mu.RUnlock()
	if q == nil {
		return nil, noQueue(name, v.name)
	}
	return q, nil
}

// QueueFor returns a queue by name, locked against other owners than owner
// (an exclusive queue is usable only by the connection that declared it).
func (v *Vhost) QueueFor(name string, owner any) (*queue.Queue, error) {
	q, err := v.Queue(name)
	if err != nil {
		return nil, err
	}
	if err := v.checkOwner(q, owner); err != nil {
		return nil, err
	}
	return q, nil
}

// Queues lists the vhost's queues by name.
func (v *Vhost) Queues() []*queue.Queue {
	v.mu.RLock()
	out := make([]*queue.Queue, 0, len(v.queues))
	for _, q := range v.queues {
		out = append(out, q)
	}
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// DeleteQueue deletes a queue with its bindings and messages and returns how
// many ready messages it held.
func (v *Vhost) DeleteQueue(name string, ifUnused, ifEmpty bool, owner any) (int, error) {
	q, err := v.QueueFor(name, owner)
	if err != nil {
		return 0, err
	}
	n, err := q.Delete(ifUnused, ifEmpty)
	if err != nil {
		if errors.Is(err, queue.ErrInUse) {
			return 0, errorf(ErrPrecondition, "queue '%s' in vhost '%s' in use", name, v.name)
		}
		if errors.Is(err, queue.ErrNotEmpty) {
			return 0, errorf(ErrPrecondition, "queue '%s' in vhost '%s' not empty", name, v.name)
		}
		return 0, classify(err)
	}
	v.forgetQueue(q)
	return n, nil
}

// DeleteOwned deletes every exclusive queue owned by owner (a closing
// connection).
func (v *Vhost) DeleteOwned(owner any) {
	for _, q := range v.Queues() {
		if cfg := q.Config(); cfg.Exclusive && cfg.Owner == owner {
			if _, err := q.Delete(false, false); err == nil || errors.Is(err, queue.ErrDeleted) {
				v.forgetQueue(q)
			}
		}
	}
}

// dropQueue deletes a queue the queue itself asked to lose (x-expires,
// auto-delete).
func (v *Vhost) dropQueue(q *queue.Queue) {
	if _, err := q.Delete(false, false); err != nil && !errors.Is(err, queue.ErrDeleted) {
		v.b.log.Warn("queue delete failed", "vhost", v.name, "queue", q.Name(), "err", err)
		return
	}
	v.forgetQueue(q)
}

// forgetQueue removes a deleted queue from the vhost, the router and the store.
func (v *Vhost) forgetQueue(q *queue.Queue) {
	name := q.Name()
	v.b.retire(q, func() {
		v.mu.Lock()
		if v.queues[name] == q {
			delete(v.queues, name)
			delete(v.declared, name)
		}
		v.mu.Unlock()
	})
	removed := v.routes.RemoveDest(name)
	cfg := q.Config()
	stored := cfg.Durable && !cfg.Exclusive
	if !stored {
		removed.Bindings = nil // never stored (see bindingDurable)
	}
	v.forgetRemoved(removed)
	if stored {
		v.deleteDef(kindQueue, name)
	}
}

// Bind binds a queue (or stream) to an exchange.
func (v *Vhost) Bind(b route.Binding) error {
	if err := v.checkDest(b.Dest); err != nil {
		return err
	}
	created, err := v.routes.Bind(b)
	if err != nil {
		return classify(err)
	}
	if created && v.bindingDurable(b) {
		return v.saveBinding(b)
	}
	return nil
}

// Unbind removes a binding; a missing one is not an error.
func (v *Vhost) Unbind(b route.Binding) error {
	if err := v.checkDest(b.Dest); err != nil {
		return err
	}
	// Bind stored b only if it was durable; a transient binding (to an
	// exclusive or non-durable queue) has no definition to delete, and
	// deleting one cost a store write and sync per unbind.
	durable := v.bindingDurable(b)
	removed, err := v.routes.Unbind(b)
	if err != nil {
		return classify(err)
	}
	if !durable {
		key := bindingKey(b)
		removed.Bindings = slices.DeleteFunc(removed.Bindings, func(x route.Binding) bool { return bindingKey(x) == key })
	}
	v.forgetRemoved(removed)
	return nil
}

// checkDest checks that a binding's queue or stream destination exists.
func (v *Vhost) checkDest(d route.Dest) error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	switch {
	case d.Kind == route.DestQueue && v.queues[d.Name] == nil,
		d.Kind == route.DestStream && v.streams[d.Name] == nil:
		return noQueue(d.Name, v.name)
	}
	return nil
}

// bindingDurable reports whether a binding survives a restart: both ends
// must (RabbitMQ keeps bindings of durable exchanges to durable queues).
func (v *Vhost) bindingDurable(b route.Binding) bool {
	src, err := v.routes.Lookup(b.Source)
	if err != nil || !src.Durable {
		return false
	}
	switch b.Dest.Kind {
	case route.DestExchange:
		dst, err := v.routes.Lookup(b.Dest.Name)
		return err == nil && dst.Durable
	case route.DestQueue:
		q, err := v.Queue(b.Dest.Name)
		return err == nil && q.Config().Durable && !q.Config().Exclusive
	}
	return true
}

// forgetRemoved drops the definitions of removed exchanges and bindings.
func (v *Vhost) forgetRemoved(r route.Removed) {
	for _, x := range r.Exchanges {
		if x.Durable {
			v.deleteDef(kindExchange, x.Name)
		}
	}
	for _, b := range r.Bindings {
		v.deleteDef(kindBinding, bindingKey(b))
	}
}

// deleteAll removes every queue of a vhost being deleted.
func (v *Vhost) deleteAll() {
	for _, q := range v.Queues() {
		if _, err := q.Delete(false, false); err == nil || errors.Is(err, queue.ErrDeleted) {
			v.forgetQueue(q)
		}
	}
	v.mu.RLock()
	names := make([]string, 0, len(v.streams))
	for name := range v.streams {
		names = append(names, name)
	}
	v.mu.RUnlock()
	for _, name := range names {
		_ = v.DeleteStream(name)
	}
	for _, x := range v.routes.Exchanges() {
		if x.Durable {
			v.deleteDef(kindExchange, x.Name)
		}
	}
}
