package mqtt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/junctionmq/junction/core/store"
)

// nsPending holds the durable copies of a publish for persistent sessions
// written before its PUBACK: client id NUL sequence → storage.Message (an
// in-flight record without a packet id).
const nsPending = "mqtt/pending"

// copies makes a QoS 1/2 publish durable for every persistent session it
// will be queued to before mochi acknowledges it [MQTT-4.3.2-2]: a PUBACK is
// a promise. mochi fans a publish out after the PUBACK, and its in-flight
// records reach the store through the asynchronous state writer, so
// OnPublish first writes one pending copy per matching persistent session
// (one group-committed batch per publish, shared with concurrent
// publishes), and only then lets mochi go on.
//
// When mochi then queues the copy (OnQosPublish, in the publisher's
// goroutine), the in-flight record is linked to its pending copy: the state
// writer writes the record and deletes the copy in one batch, the record
// first, so a crash keeps at least one of them. Copies mochi did not queue
// (the session vanished, the publish was refused) are deleted once the
// publish is done (OnPublished). At start-up (StoredInflightMessages) a
// copy still pending becomes an in-flight message of its session, unless an
// in-flight record names it already.
type copies struct {
	s  *Server
	st store.Store
	w  *stateWriter

	mu      sync.Mutex                // guards current
	current map[string]*publishCopies // publisher client id → its publish in fan-out
	// active is len(current): finish skips the lock when it is 0 (a
	// publisher's own entry is added in its goroutine, before its finish).
	active atomic.Int32
}

// publishCopies are one publish's pending copies, from OnPublish until
// OnPublished. A publisher's packets are processed one at a time, so a
// publisher has at most one.
type publishCopies struct {
	payload []byte
	created int64
	keys    map[string]string // subscriber id → pending key, until linked

	// shared is the pick of shared-subscription members made for this
	// publish, reused by OnSelectSubscribers; nil when it has none.
	shared map[string]packets.Subscription
}

func newCopies(s *Server, st store.Store, w *stateWriter) *copies {
	return &copies{s: s, st: st, w: w, current: map[string]*publishCopies{}}
}

// pendingKey names a pending copy by its session and its order number
// (mochi.NextInflightOrder, the numbering of in-flight messages: a copy
// restored at start-up takes its place among them).
func pendingKey(clientID string, seq uint64) string {
	return fmt.Sprintf("%s\x00%020d", clientID, seq)
}

// pendingSeq is the order number in a pending key.
func pendingSeq(key string) uint64 {
	_, s, _ := strings.Cut(key, "\x00")
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// write stores the copies of pk for the persistent sessions mochi will queue
// it to and returns a function that waits until they are durable, or nil if
// there are none.
//
// It refuses (errInflightFull) a publish that a session's full in-flight
// window would drop: mochi drops a QoS 1/2 copy silently when a session
// holds Config.MaxInflight messages, which a PUBACK must not hide. A
// connected subscriber's window is waited on first (inflightWait).
func (c *copies) write(cl *mochi.Client, pk packets.Packet) (func() error, error) {
	c.finish(cl.ID) // a publish whose PUBACK failed never reached OnPublished
	if pk.FixedHeader.Qos == 0 {
		return nil, nil
	}
	subs := c.s.subs.lookup(c.s.m.Topics, pk.TopicName)
	// Nothing is allocated for a publish no persistent session receives
	// (the common case of a clean-session subscriber).
	var keys map[string]string
	var shared map[string]packets.Subscription
	if len(subs.Shared) > 0 {
		c.s.selectShared(subs)
		shared = subs.SharedSelected
		subs.MergeSharedSelected()
	}
	var ops []store.StateOp
	for id, sub := range subs.Subscriptions {
		if c.full(id, sub, pk) && !c.s.inflightWait(cl, id) {
			return nil, errInflightFull
		}
		rec, ok := c.copyFor(id, sub, pk)
		if !ok {
			continue
		}
		key := pendingKey(id, mochi.NextInflightOrder())
		rec.ID = key
		b, err := rec.MarshalBinary()
		if err != nil {
			c.s.log.Error("mqtt pending copy encode failed", "client", id, "error", err)
			continue
		}
		if keys == nil {
			keys = map[string]string{}
		}
		keys[id] = key
		ops = append(ops, store.StateOp{NS: nsPending, Key: key, Val: b})
	}
	if len(ops) == 0 && shared == nil {
		return nil, nil
	}
	if keys == nil {
		keys = map[string]string{}
	}
	pc := &publishCopies{payload: pk.Payload, created: pk.Created, keys: keys, shared: shared}
	c.mu.Lock()
	if _, ok := c.current[cl.ID]; !ok {
		c.active.Add(1)
	}
	c.current[cl.ID] = pc
	c.mu.Unlock()
	if len(ops) == 0 {
		return nil, nil
	}
	return c.putStates(ops), nil
}

// full reports whether the session id would drop pk's QoS 1/2 copy because
// its in-flight window is full (mochi's publishToClient).
func (c *copies) full(id string, sub packets.Subscription, pk packets.Packet) bool {
	target, ok := c.s.m.Clients.Get(id)
	if !ok || target.Net.Inline || (sub.NoLocal && pk.Origin == id) {
		return false
	}
	if min(pk.FixedHeader.Qos, sub.Qos) == 0 {
		return false
	}
	if target.State.Inflight.Len() < int(c.s.m.Options.Capabilities.MaximumInflight) {
		if cc := connOf(target.Net.Conn); cc != nil && cc.ackStalled.Load() {
			cc.ackStalled.Store(false) // it caught up
		}
		return false
	}
	return true
}

// putStates submits ops and returns the wait for their durability.
func (c *copies) putStates(ops []store.StateOp) func() error {
	sb, ok := c.st.(store.StateBatcher)
	if !ok {
		err := applyStates(c.st, ops)
		return func() error { return err }
	}
	ch := make(chan error, 1)
	sb.PutStates(ops, func(err error) { ch <- err })
	return func() error { return <-ch }
}

// applyStates writes ops one by one through a store without StateBatcher.
func applyStates(st store.Store, ops []store.StateOp) error {
	for _, o := range ops {
		var err error
		if o.Delete {
			err = st.DeleteState(o.NS, o.Key)
		} else {
			err = st.PutState(o.NS, o.Key, o.Val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// copyFor builds the copy of pk that mochi's publishToClient will queue to
// the session id through sub, if that session is persistent and the copy
// is QoS 1 or 2.
func (c *copies) copyFor(id string, sub packets.Subscription, pk packets.Packet) (storage.Message, bool) {
	target, ok := c.s.m.Clients.Get(id)
	if !ok || target.Net.Inline || ephemeral(target) {
		return storage.Message{}, false
	}
	if sub.NoLocal && pk.Origin == id { // [MQTT-3.8.3-3]
		return storage.Message{}, false
	}
	qos := min(pk.FixedHeader.Qos, sub.Qos, c.s.m.Options.Capabilities.MaximumQos)
	if qos == 0 || !c.s.allowedClient(target, pk.TopicName, false) {
		return storage.Message{}, false
	}
	out := pk.Copy(false)
	out.FixedHeader.Qos = qos
	if target.Properties.ProtocolVersion < 5 || !sub.RetainAsPublished {
		out.FixedHeader.Retain = false // [MQTT-3.3.1-12]
	}
	out.Properties.SubscriptionIdentifier = nil
	if len(sub.Identifiers) > 0 { // [MQTT-3.3.4-3]
		for _, sid := range sub.Identifiers {
			out.Properties.SubscriptionIdentifier = append(out.Properties.SubscriptionIdentifier, sid)
		}
		sort.Ints(out.Properties.SubscriptionIdentifier)
	}
	rec := messageRecord(out, storage.InflightKey, "")
	rec.Client = id
	return rec, true
}

// link returns the pending key of the copy mochi has just queued to the
// session subscriber as out (OnQosPublish), or "" if out is no fresh copy
// of the publisher's current publish (a resend, a retained message).
func (c *copies) link(subscriber string, out packets.Packet) string {
	if out.FixedHeader.Dup {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.current[out.Origin]
	if pc == nil || pc.created != out.Created || !bytes.Equal(pc.payload, out.Payload) {
		return ""
	}
	key, ok := pc.keys[subscriber]
	if ok {
		delete(pc.keys, subscriber)
	}
	return key
}

// sharedPick returns the shared-subscription pick made for the publish pk
// being fanned out, if any.
func (c *copies) sharedPick(pk packets.Packet) map[string]packets.Subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.current[pk.Origin]
	if pc == nil || pc.created != pk.Created || !bytes.Equal(pc.payload, pk.Payload) {
		return nil
	}
	return pc.shared
}

// finish ends the fan-out of a publisher's publish: copies mochi did not
// queue are deleted.
func (c *copies) finish(publisher string) {
	if c.active.Load() == 0 {
		return
	}
	c.mu.Lock()
	pc, ok := c.current[publisher]
	if ok {
		delete(c.current, publisher)
		c.active.Add(-1)
	}
	c.mu.Unlock()
	if pc == nil {
		return
	}
	for _, key := range pc.keys {
		c.w.del(nsPending, key)
	}
}

// inflightRecord is the stored form of an in-flight message: mochi's record
// and the pending copy it replaced, if any.
type inflightRecord struct {
	storage.Message
	Pending string `json:"pending,omitempty"`
	// Seq is the message's place in its session's queue (mochi's
	// Inflight.Order): start-up reloads the messages in this order. 0 in
	// records written before it existed.
	Seq uint64 `json:"seq,omitempty"`
}

// encode marshals the record with its link (storage.Message's promoted
// MarshalBinary would drop it).
func (r inflightRecord) encode() ([]byte, error) { return json.Marshal(r) }
