package route

import (
	"slices"
	"strings"
	"sync"
)

// Table is one vhost's exchanges, bindings and default-exchange
// destinations. It is safe for concurrent use; see the package doc for
// the locking scheme.
type Table struct {
	vhost string

	mu        sync.RWMutex         // guards every field below
	exchanges map[string]*exchange // by name; never holds ""
	dests     map[string]Dest      // the default exchange: queue or stream by name
	byDest    map[Dest][]*binding  // every binding, by destination
	seq       uint64               // last binding sequence number
}

// NewTable returns the routing table of vhost (used in error texts) with
// the exchanges RabbitMQ predeclares: amq.direct, amq.fanout, amq.topic,
// amq.headers and amq.match, all durable.
func NewTable(vhost string) *Table {
	t := &Table{
		vhost:     vhost,
		exchanges: make(map[string]*exchange),
		dests:     make(map[string]Dest),
		byDest:    make(map[Dest][]*binding),
	}
	for _, x := range predeclared {
		t.exchanges[x.Name] = newExchange(x)
	}
	return t
}

// VHost returns the vhost name the table was made with.
func (t *Table) VHost() string { return t.vhost }

func (t *Table) lookup(name string) (*exchange, error) {
	if x := t.exchanges[name]; x != nil {
		return x, nil
	}
	return nil, &Error{Err: ErrNotFound, VHost: t.vhost, Resource: "exchange", Name: name}
}

// Declare creates an exchange, or checks a redeclare against the existing
// one, and reports whether it created it. Errors: ErrDefaultExchange for
// "", ErrUnknownType for an invalid Kind, ErrReserved for a new "amq."
// name, *InequivalentError (ErrInequivalent) for a redeclare that differs
// in type, durable, auto-delete, internal or alternate-exchange (the only
// argument RabbitMQ compares; other arguments of a redeclare are ignored).
func (t *Table) Declare(x Exchange) (bool, error) {
	if x.Name == "" {
		return false, &Error{Err: ErrDefaultExchange, VHost: t.vhost, Resource: "exchange"}
	}
	if !x.Kind.valid() {
		return false, &Error{Err: ErrUnknownType, VHost: t.vhost, Resource: "exchange", Name: x.Name, Detail: x.Kind.String()}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur := t.exchanges[x.Name]; cur != nil {
		return false, cur.def.equivalent(&x, t.vhost)
	}
	if strings.HasPrefix(x.Name, "amq.") {
		return false, &Error{Err: ErrReserved, VHost: t.vhost, Resource: "exchange", Name: x.Name}
	}
	t.exchanges[x.Name] = newExchange(x)
	return true, nil
}

// Lookup returns an exchange's definition (a passive declare). The
// default exchange "" is reported as DefaultExchange.
func (t *Table) Lookup(name string) (Exchange, error) {
	if name == "" {
		return DefaultExchange, nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	x, err := t.lookup(name)
	if err != nil {
		return Exchange{}, err
	}
	return x.def, nil
}

// SetPolicyAlternate sets the alternate exchange a policy gives exchange
// name (ok false: none), without changing its declared arguments. A
// declared alternate-exchange argument still wins, as in RabbitMQ. A
// missing exchange, or the default one, is ErrNotFound.
func (t *Table) SetPolicyAlternate(name, ae string, ok bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	x, err := t.lookup(name)
	if err != nil {
		return err
	}
	x.polAE, x.hasPolAE = ae, ok
	x.resolveAE()
	return nil
}

// Alternate returns the alternate exchange exchange name routes to when
// its bindings match nothing: the declared argument, else the policy's.
func (t *Table) Alternate(name string) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if x := t.exchanges[name]; x != nil {
		return x.ae, x.hasAE
	}
	return "", false
}

// Delete deletes an exchange with its bindings, both those it is the
// source of and those that have it as destination; removing the latter may
// auto-delete their sources. Deleting a missing exchange is not an error
// and removes nothing (RabbitMQ semantics). Errors: ErrDefaultExchange,
// ErrReserved for any "amq." name, ErrInUse when ifUnused and the exchange
// is the source of a binding.
func (t *Table) Delete(name string, ifUnused bool) (Removed, error) {
	var rm Removed
	if name == "" {
		return rm, &Error{Err: ErrDefaultExchange, VHost: t.vhost, Resource: "exchange"}
	}
	if strings.HasPrefix(name, "amq.") {
		return rm, &Error{Err: ErrReserved, VHost: t.vhost, Resource: "exchange", Name: name, Detail: "delete"}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	x := t.exchanges[name]
	if x == nil {
		return rm, nil
	}
	if ifUnused && len(x.bindings) > 0 {
		return rm, &Error{Err: ErrInUse, VHost: t.vhost, Resource: "exchange", Name: name}
	}
	t.deleteExchange(x, &rm)
	return rm, nil
}

// Exchanges lists every exchange but the default one, sorted by name.
func (t *Table) Exchanges() []Exchange {
	t.mu.RLock()
	out := make([]Exchange, 0, len(t.exchanges))
	for _, x := range t.exchanges {
		out = append(out, x.def)
	}
	t.mu.RUnlock()
	slices.SortFunc(out, func(a, b Exchange) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Bindings lists every binding in creation order. The implicit bindings
// of the default exchange are not listed (see Dests).
func (t *Table) Bindings() []Binding {
	t.mu.RLock()
	var all []*binding
	for _, x := range t.exchanges {
		all = append(all, x.bindings...)
	}
	t.mu.RUnlock()
	slices.SortFunc(all, func(a, b *binding) int { return cmpSeq(a.seq, b.seq) })
	out := make([]Binding, len(all))
	for i, b := range all {
		out[i] = b.Binding
	}
	return out
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// AddDest registers a queue or stream so the default exchange routes to it
// by name and bindings may name it. It reports whether it was new.
func (t *Table) AddDest(d Dest) bool {
	if d.Kind != DestQueue && d.Kind != DestStream {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.dests[d.Name]; ok {
		return false
	}
	t.dests[d.Name] = d
	return true
}

// RemoveDest unregisters a queue or stream (it was deleted) and removes
// every binding to it, auto-deleting sources left without bindings.
func (t *Table) RemoveDest(name string) Removed {
	var rm Removed
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.dests[name]
	if !ok {
		return rm
	}
	delete(t.dests, name)
	for bs := t.byDest[d]; len(bs) > 0; bs = t.byDest[d] {
		t.removeBinding(bs[0], &rm)
	}
	return rm
}

// Dests lists the registered queues and streams, sorted by name.
func (t *Table) Dests() []Dest {
	t.mu.RLock()
	out := make([]Dest, 0, len(t.dests))
	for _, d := range t.dests {
		out = append(out, d)
	}
	t.mu.RUnlock()
	slices.SortFunc(out, func(a, b Dest) int { return strings.Compare(a.Name, b.Name) })
	return out
}
