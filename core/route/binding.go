package route

import (
	"slices"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/route/topic"
)

// DestKind says what a Dest names.
type DestKind uint8

// The destination kinds.
const (
	DestQueue DestKind = iota + 1
	DestStream
	DestExchange // an exchange-to-exchange binding
)

var destKindNames = [...]string{"", "queue", "stream", "exchange"}

// String returns "queue", "stream" or "exchange".
func (k DestKind) String() string {
	if int(k) < len(destKindNames) && k > 0 {
		return destKindNames[k]
	}
	return "invalid"
}

// Dest names a binding destination. It is comparable and cheap to copy:
// routing compares and copies Dests, never looks through them.
type Dest struct {
	Kind DestKind
	Name string
}

// Matcher is an extra condition on a binding, checked after the exchange
// type's own match (routing key or headers) succeeded: a message follows
// the binding only when Match returns true. Bind on a fanout exchange to
// use a Matcher instead of key matching (SNS filter policies, JMS
// selectors). Match runs under the table's read lock on publishing
// goroutines: it must be safe for concurrent use and must not call the
// Table.
type Matcher interface {
	Match(m *message.Message) bool
}

// Transform rewrites a message for one destination (the SNS JSON
// envelope, for example). It is carried to the caller in Target and never
// applied by the router. It must not modify m, which is shared.
type Transform interface {
	Transform(m *message.Message) *message.Message
}

// Binding is a binding definition. Source, Dest, Key and Args identify it
// (Args regardless of field order, as RabbitMQ compares them); Matcher and
// Transform are attached behaviour, not part of its identity.
type Binding struct {
	Source    string // exchange name, never ""
	Dest      Dest
	Key       string
	Args      message.Table
	Matcher   Matcher   // nil: the exchange type's match alone decides
	Transform Transform // nil: deliver as published; not allowed with a DestExchange
}

// same reports whether b and o identify the same binding.
func (b *Binding) same(o *Binding) bool {
	return b.Source == o.Source && b.Dest == o.Dest && b.Key == o.Key && argsEqual(b.Args, o.Args)
}

// binding is a stored binding.
type binding struct {
	Binding
	src *exchange  // the source exchange
	seq uint64     // creation order; the oldest binding's Transform wins
	pos int        // index in the source exchange's bindings
	hdr headerSpec // Headers exchanges only
}

// exchange is a declared exchange and its outgoing bindings.
type exchange struct {
	def      Exchange
	ae       string // effective alternate exchange, valid when hasAE
	hasAE    bool
	polAE    string // alternate exchange a policy sets, valid when hasPolAE
	hasPolAE bool
	bindings []*binding            // as source, in no particular order
	direct   map[string][]*binding // Direct: by key
	topic    *topic.Trie[*binding] // Topic
	bound    bool                  // had a binding once: auto-delete may now fire
}

func newExchange(def Exchange) *exchange {
	def.Args = slices.Clone(def.Args)
	x := &exchange{def: def}
	x.resolveAE()
	switch def.Kind {
	case Direct:
		x.direct = make(map[string][]*binding)
	case Topic:
		x.topic = new(topic.Trie[*binding])
	}
	return x
}

// resolveAE sets the effective alternate exchange: the declared argument,
// else the policy's (RabbitMQ's rabbit_policy:get_arg: arguments win).
func (x *exchange) resolveAE() {
	x.ae, x.hasAE = x.def.AlternateExchange()
	if !x.hasAE {
		x.ae, x.hasAE = x.polAE, x.hasPolAE
	}
}

func (x *exchange) add(b *binding) {
	b.pos = len(x.bindings)
	x.bindings = append(x.bindings, b)
	x.bound = true
	switch x.def.Kind {
	case Direct:
		x.direct[b.Key] = append(x.direct[b.Key], b)
	case Topic:
		x.topic.Insert(b.Key, b)
	}
}

func (x *exchange) remove(b *binding) {
	last := len(x.bindings) - 1
	x.bindings[b.pos] = x.bindings[last]
	x.bindings[b.pos].pos = b.pos
	x.bindings[last] = nil
	x.bindings = x.bindings[:last]
	switch x.def.Kind {
	case Direct:
		bs := deleteBinding(x.direct[b.Key], b)
		if len(bs) == 0 {
			delete(x.direct, b.Key)
		} else {
			x.direct[b.Key] = bs
		}
	case Topic:
		x.topic.Remove(b.Key, b)
	}
}

// deleteBinding removes b from bs, keeping order.
func deleteBinding(bs []*binding, b *binding) []*binding {
	if i := slices.Index(bs, b); i >= 0 {
		bs = slices.Delete(bs, i, i+1)
	}
	return bs
}

// Removed lists what a delete or unbind took away, cascades included
// (auto-deleted exchanges and their bindings), so the caller can drop the
// same definitions from its store.
type Removed struct {
	Exchanges []Exchange
	Bindings  []Binding
}

// Empty reports whether nothing was removed.
func (r *Removed) Empty() bool { return len(r.Exchanges) == 0 && len(r.Bindings) == 0 }

// Bind adds a binding and reports whether it is new. Binding again with
// the same identity changes nothing but replaces Matcher and Transform
// (reporting false: the persisted definition is unchanged). The source,
// and the destination when it is an exchange, must exist; a queue or
// stream destination must have been added with AddDest.
func (t *Table) Bind(b Binding) (bool, error) {
	if b.Source == "" || b.Dest == (Dest{DestExchange, ""}) {
		return false, &Error{Err: ErrDefaultExchange, VHost: t.vhost, Resource: "exchange"}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	x, err := t.lookup(b.Source)
	if err != nil {
		return false, err
	}
	if err := t.checkDest(b.Dest); err != nil {
		return false, err
	}
	if b.Dest.Kind == DestExchange && b.Transform != nil {
		return false, &Error{Err: ErrInvalidBinding, VHost: t.vhost, Resource: "exchange", Name: b.Source,
			Detail: "a transform needs a queue or stream destination, not an exchange"}
	}
	var hdr headerSpec
	if x.def.Kind == Headers {
		if hdr, err = parseHeaderSpec(b.Args); err != nil {
			err.(*Error).VHost, err.(*Error).Name = t.vhost, b.Source
			return false, err
		}
	}
	if old := t.find(&b); old != nil {
		old.Matcher, old.Transform = b.Matcher, b.Transform
		return false, nil
	}
	b.Args = slices.Clone(b.Args)
	t.seq++
	nb := &binding{Binding: b, src: x, seq: t.seq, hdr: hdr}
	x.add(nb)
	t.byDest[b.Dest] = append(t.byDest[b.Dest], nb)
	return true, nil
}

// Unbind removes a binding (matched by Source, Dest, Key and Args). A
// missing binding is not an error (RabbitMQ semantics); a missing source
// or destination exchange is ErrNotFound. Removing the last binding of an
// auto-delete exchange deletes it, which Removed reports.
func (t *Table) Unbind(b Binding) (Removed, error) {
	var rm Removed
	if b.Source == "" || b.Dest == (Dest{DestExchange, ""}) {
		return rm, &Error{Err: ErrDefaultExchange, VHost: t.vhost, Resource: "exchange"}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.lookup(b.Source); err != nil {
		return rm, err
	}
	if b.Dest.Kind == DestExchange {
		if _, err := t.lookup(b.Dest.Name); err != nil {
			return rm, err
		}
	}
	if old := t.find(&b); old != nil {
		t.removeBinding(old, &rm)
	}
	return rm, nil
}

// find returns the stored binding with b's identity, or nil.
func (t *Table) find(b *Binding) *binding {
	for _, o := range t.byDest[b.Dest] {
		if o.same(b) {
			return o
		}
	}
	return nil
}

// checkDest reports ErrNotFound for a destination that does not exist.
func (t *Table) checkDest(d Dest) error {
	switch d.Kind {
	case DestExchange:
		_, err := t.lookup(d.Name)
		return err
	case DestQueue, DestStream:
		if t.dests[d.Name] == d {
			return nil
		}
	}
	return &Error{Err: ErrNotFound, VHost: t.vhost, Resource: "queue", Name: d.Name}
}

// removeBinding removes b everywhere, then auto-deletes its source when b
// was the source's last binding.
func (t *Table) removeBinding(b *binding, rm *Removed) {
	x := b.src
	x.remove(b)
	bs := deleteBinding(t.byDest[b.Dest], b)
	if len(bs) == 0 {
		delete(t.byDest, b.Dest)
	} else {
		t.byDest[b.Dest] = bs
	}
	rm.Bindings = append(rm.Bindings, b.Binding)
	if x.def.AutoDelete && x.bound && len(x.bindings) == 0 && t.exchanges[x.def.Name] == x {
		t.deleteExchange(x, rm)
	}
}

// deleteExchange removes x, its bindings as source and the bindings that
// have x as destination (which may auto-delete their sources in turn).
func (t *Table) deleteExchange(x *exchange, rm *Removed) {
	delete(t.exchanges, x.def.Name)
	rm.Exchanges = append(rm.Exchanges, x.def)
	for len(x.bindings) > 0 {
		t.removeBinding(x.bindings[len(x.bindings)-1], rm)
	}
	in := t.byDest[Dest{DestExchange, x.def.Name}]
	for len(in) > 0 {
		t.removeBinding(in[0], rm)
		in = t.byDest[Dest{DestExchange, x.def.Name}]
	}
}
