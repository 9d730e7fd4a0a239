package route

import (
	"slices"
	"sync"

	"github.com/junctionmq/junction/core/message"
)

// Target is one final destination of a routed message and the Transform
// to apply for it (nil: deliver the message as published).
type Target struct {
	Dest      Dest
	Transform Transform
	seq       uint64 // the binding that chose Transform; 0 for the default exchange
}

// Routing headers RabbitMQ reads on publish ("sender-selected
// distribution"): arrays of long strings used as extra routing keys. BCC is
// removed from the message before delivery.
const (
	HeaderCC  = "CC"
	HeaderBCC = "BCC"
)

// linearMax is the number of targets up to which duplicates are found by
// scanning; past it a map indexes them.
const linearMax = 16

// state is one Route call's scratch space, pooled so that routing does
// not allocate.
type state struct {
	keys  []string
	work  []*exchange // exchanges to route through; also the seen set
	hits  []*binding
	idx   map[Dest]int
	idxOn bool
}

var statePool = sync.Pool{New: func() any { return &state{idx: make(map[Dest]int)} }}

func (st *state) release() {
	if st.idxOn {
		clear(st.idx)
		st.idxOn = false
	}
	clear(st.work)
	clear(st.hits)
	st.keys = st.keys[:0]
	st.work = st.work[:0]
	st.hits = st.hits[:0]
	statePool.Put(st)
}

// Route appends to out the final destinations (queues and streams) of m
// published to exchange, and reports whether the caller must strip the BCC
// header before delivery (use StripBCC). It follows exchange-to-exchange
// bindings and alternate exchanges (an exchange whose bindings matched
// nothing passes m to its alternate exchange, if that exists), visiting
// each exchange at most once, so cycles end. Each destination appears
// once; when several bindings reach it, the Transform of the oldest binding
// (first created) wins. Routing keys are m.RoutingKey plus the CC and BCC
// headers' strings. Route does not allocate when out has room.
//
// Errors: ErrNotFound (no such exchange), ErrInternal (exchange is
// internal), ErrInvalidHeader (CC or BCC not an array).
func (t *Table) Route(exchange string, m *message.Message, out []Target) ([]Target, bool, error) {
	st := statePool.Get().(*state)
	defer st.release()
	keys, strip, bad := routingKeys(m, st.keys)
	st.keys = keys
	if bad != "" {
		return out, false, &Error{Err: ErrInvalidHeader, VHost: t.vhost, Resource: "exchange", Name: exchange, Detail: bad}
	}
	start := len(out)
	t.mu.RLock()
	defer t.mu.RUnlock()
	if exchange == "" {
		for _, k := range keys {
			if d, ok := t.dests[k]; ok {
				out = st.add(out, start, d, nil, 0)
			}
		}
		return out, strip, nil
	}
	x := t.exchanges[exchange]
	if x == nil {
		return out, false, &Error{Err: ErrNotFound, VHost: t.vhost, Resource: "exchange", Name: exchange}
	}
	if x.def.Internal {
		return out, false, &Error{Err: ErrInternal, VHost: t.vhost, Resource: "exchange", Name: exchange}
	}
	st.work = append(st.work, x)
	for i := 0; i < len(st.work); i++ {
		x := st.work[i]
		st.hits = x.match(m, keys, st.hits[:0])
		if len(st.hits) == 0 {
			if ae := t.exchanges[x.ae]; x.hasAE && ae != nil {
				st.push(ae)
			}
			continue
		}
		for _, b := range st.hits {
			if b.Dest.Kind == DestExchange {
				if dx := t.exchanges[b.Dest.Name]; dx != nil {
					st.push(dx)
				}
				continue
			}
			out = st.add(out, start, b.Dest, b.Transform, b.seq)
		}
	}
	return out, strip, nil
}

// push queues x unless it was seen already.
func (st *state) push(x *exchange) {
	if !slices.Contains(st.work, x) {
		st.work = append(st.work, x)
	}
}

// add appends d unless out[start:] holds it; then the older binding's
// Transform is kept.
func (st *state) add(out []Target, start int, d Dest, tr Transform, seq uint64) []Target {
	if !st.idxOn && len(out)-start < linearMax {
		for i := start; i < len(out); i++ {
			if out[i].Dest == d {
				keepOlder(&out[i], tr, seq)
				return out
			}
		}
		return append(out, Target{Dest: d, Transform: tr, seq: seq})
	}
	if !st.idxOn {
		st.idxOn = true
		for i := start; i < len(out); i++ {
			st.idx[out[i].Dest] = i
		}
	}
	if i, ok := st.idx[d]; ok {
		keepOlder(&out[i], tr, seq)
		return out
	}
	st.idx[d] = len(out)
	return append(out, Target{Dest: d, Transform: tr, seq: seq})
}

func keepOlder(t *Target, tr Transform, seq uint64) {
	if seq < t.seq {
		t.Transform, t.seq = tr, seq
	}
}

// match appends the bindings of x that m satisfies for any of keys.
func (x *exchange) match(m *message.Message, keys []string, hits []*binding) []*binding {
	switch x.def.Kind {
	case Direct:
		for _, k := range keys {
			for _, b := range x.direct[k] {
				if b.Matcher == nil || b.Matcher.Match(m) {
					hits = append(hits, b)
				}
			}
		}
	case Fanout:
		for _, b := range x.bindings {
			if b.Matcher == nil || b.Matcher.Match(m) {
				hits = append(hits, b)
			}
		}
	case Topic:
		for _, k := range keys {
			n := len(hits)
			hits = x.topic.Match(k, hits)
			hits = filterMatchers(m, hits, n)
		}
	case Headers:
		h := m.Props.Headers
		for _, b := range x.bindings {
			if b.hdr.match(h) && (b.Matcher == nil || b.Matcher.Match(m)) {
				hits = append(hits, b)
			}
		}
	}
	return hits
}

// filterMatchers drops from hits[from:] the bindings whose Matcher
// rejects m.
func filterMatchers(m *message.Message, hits []*binding, from int) []*binding {
	j := from
	for _, b := range hits[from:] {
		if b.Matcher == nil || b.Matcher.Match(m) {
			hits[j] = b
			j++
		}
	}
	clear(hits[j:])
	return hits[:j]
}

// routingKeys appends m's routing keys to buf: its routing key, then the
// strings of the CC and BCC headers (other array elements are skipped, as
// RabbitMQ does). strip reports a BCC header; bad names a CC or BCC header
// that is not an array.
func routingKeys(m *message.Message, buf []string) (keys []string, strip bool, bad string) {
	keys = append(buf, m.RoutingKey)
	for _, f := range m.Props.Headers {
		if f.Key != HeaderCC && f.Key != HeaderBCC {
			continue
		}
		strip = strip || f.Key == HeaderBCC
		arr, ok := f.Value.([]any)
		if !ok {
			return keys, false, f.Key
		}
		for _, v := range arr {
			if s, ok := v.(string); ok {
				keys = append(keys, s)
			}
		}
	}
	return keys, strip, ""
}

// StripBCC returns m without its BCC header, as RabbitMQ delivers it: a
// shallow copy with its own Headers table (m is shared and is not
// modified). It returns m itself when it has no BCC header.
func StripBCC(m *message.Message) *message.Message {
	if _, ok := m.Props.Headers.Get(HeaderBCC); !ok {
		return m
	}
	c := *m
	c.Props.Headers = slices.Clone(m.Props.Headers).Delete(HeaderBCC)
	return &c
}
