// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2023 mochi-mqtt, mochi-co
// SPDX-FileContributor: mochi-co

package mqtt

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// inflightOrder numbers in-flight messages in the order they are queued, in
// every session (a message moved from one session to another keeps its
// number). It starts at the clock's nanoseconds, so numbers given after a
// restart follow those given before it (Junction stores them).
var inflightOrder atomic.Uint64

func init() { inflightOrder.Store(uint64(time.Now().UnixNano())) }

// NextInflightOrder returns a new order number, after every number given
// before it.
func NextInflightOrder() uint64 { return inflightOrder.Add(1) }

// Inflight is a map of InflightMessage keyed on packet id.
type Inflight struct {
	sync.RWMutex
	internal            map[uint16]inflightEntry // internal contains the inflight packets
	sealed              bool                     // moved to a session that took this one over
	held                bool                     // new packets wait for Release (Hold)
	receiveQuota        int32                    // remaining inbound qos quota for flow control
	sendQuota           int32                    // remaining outbound qos quota for flow control
	maximumReceiveQuota int32                    // maximum allowed receive quota
	maximumSendQuota    int32                    // maximum allowed send quota
	peak                int                      // most packets held since the map was last rebuilt (shrink)
}

// inflightEntry is an in-flight packet and its order number (Junction
// patch: one map holds both).
//
// The packet is held by pointer, never changed in place (a new value
// replaces it): the map's slots stay small, so the churn of a busy session
// (a packet in, a packet out, per message) does not keep reallocating a
// table of whole packets; publishToClient shares the copy it queues to the
// writer (PutShared).
type inflightEntry struct {
	pk    *packets.Packet
	order uint64
	held  bool // stored while the list was held: never written yet
}

// NewInflights returns a new instance of an Inflight packets map.
func NewInflights() *Inflight {
	return &Inflight{
		internal: map[uint16]inflightEntry{},
	}
}

// Set adds or updates an inflight packet by packet id. A new packet is
// ordered after every packet queued before it; an update keeps its place.
func (i *Inflight) Set(m packets.Packet) bool {
	return i.SetOrdered(m, 0)
}

// SetOrdered is Set with the packet's order number (NextInflightOrder),
// for a packet that keeps its place from elsewhere; 0 gives a new one.
func (i *Inflight) SetOrdered(m packets.Packet, order uint64) bool {
	stored, _ := i.put(&m, order)
	return stored
}

// Put is Set, and also reports whether the list is held (Hold): a held
// packet must not be written now, Release hands it to the writer of the
// CONNACK with the in-flight messages to resend.
func (i *Inflight) Put(m packets.Packet) (stored, held bool) {
	return i.put(&m, 0)
}

// PutShared is Put for a packet the caller will not change any more (it
// may still read it, or hand it to the writer): the list keeps p itself.
func (i *Inflight) PutShared(p *packets.Packet) (stored, held bool) {
	return i.put(p, 0)
}

// PutOrdered is SetOrdered, and also reports whether the list is held.
func (i *Inflight) PutOrdered(m packets.Packet, order uint64) (stored, held bool) {
	return i.put(&m, order)
}

func (i *Inflight) put(m *packets.Packet, order uint64) (stored, held bool) {
	i.Lock()
	defer i.Unlock()

	if i.sealed {
		return false, false
	}
	e, ok := i.internal[m.PacketID]
	if order == 0 {
		order = e.order
		if !ok {
			order = NextInflightOrder()
		}
	}
	i.internal[m.PacketID] = inflightEntry{pk: m, order: order, held: i.held || (ok && e.held)}
	i.peak = max(i.peak, len(i.internal))
	return !ok, i.held
}

// Hold makes the list hold the packets stored from now on until Release
// (Junction patch). A connecting client's list is held from before it can
// be found (inheritClientSession, s.Clients.Add) until its CONNACK is
// written: a packet queued to it meanwhile is written once, by Release's
// caller, instead of once from the outbound queue and once more as a
// resent in-flight message.
func (i *Inflight) Hold() {
	i.Lock()
	defer i.Unlock()
	i.held = true
}

// Release ends the hold and returns every packet of the list in its order,
// to be written: the ones stored before the hold (inherited from a previous
// connection) marked as duplicates [MQTT-3.3.1-1], the held ones as they
// were queued. A packet stored after Release is written by whoever stores
// it, as usual.
func (i *Inflight) Release() []packets.Packet {
	i.Lock()
	defer i.Unlock()
	i.held = false
	es := make([]inflightEntry, 0, len(i.internal))
	for k, v := range i.internal {
		if v.held {
			v.held = false
			i.internal[k] = v
		} else if v.pk.FixedHeader.Type == packets.Publish {
			dup := *v.pk // the stored packet is never changed in place
			dup.FixedHeader.Dup = true
			v.pk = &dup
		}
		es = append(es, v)
	}
	sortEntries(es)
	m := make([]packets.Packet, len(es))
	for k := range es {
		m[k] = *es[k].pk
	}
	return m
}

// Order returns the order number of an inflight packet.
func (i *Inflight) Order(id uint16) (uint64, bool) {
	i.RLock()
	defer i.RUnlock()
	e, ok := i.internal[id]
	return e.order, ok
}

// Get returns an inflight packet by packet id.
func (i *Inflight) Get(id uint16) (packets.Packet, bool) {
	i.RLock()
	defer i.RUnlock()

	if e, ok := i.internal[id]; ok {
		return *e.pk, true
	}

	return packets.Packet{}, false
}

// Has reports whether a packet id is in flight (Junction patch: Get copies
// the whole packet out, for callers that only test for it).
func (i *Inflight) Has(id uint16) bool {
	i.RLock()
	defer i.RUnlock()
	_, ok := i.internal[id]
	return ok
}

// Len returns the size of the inflight messages map.
func (i *Inflight) Len() int {
	i.RLock()
	defer i.RUnlock()
	return len(i.internal)
}

// Clone returns a new instance of Inflight with the same message data.
// This is used when transferring inflights from a taken-over session.
func (i *Inflight) Clone() *Inflight {
	c := NewInflights()
	i.RLock()
	defer i.RUnlock()
	for k, v := range i.internal {
		c.internal[k] = v
	}
	return c
}

// SealInto copies the packets to dst, keeping their order numbers, and seals
// i: from then on Set stores nothing in i and returns false (Sealed tells
// why). A session take-over uses it so that a message queued concurrently
// lands either in what the new session inherits or, redirected, in the new
// session itself, never in the old one after the copy.
func (i *Inflight) SealInto(dst *Inflight) {
	i.Lock()
	defer i.Unlock()
	dst.Lock()
	defer dst.Unlock()
	i.sealed = true
	for k, v := range i.internal {
		dst.internal[k] = v
	}
}

// Sealed reports whether SealInto moved the packets away.
func (i *Inflight) Sealed() bool {
	i.RLock()
	defer i.RUnlock()
	return i.sealed
}

// GetAll returns all the inflight messages, in the order they were queued.
// (Upstream sorted them by the low 16 bits of their creation second, which
// is no order within a second and wraps every 18 hours.)
func (i *Inflight) GetAll(immediate bool) []packets.Packet {
	i.RLock()
	defer i.RUnlock()

	es := []inflightEntry{}
	for _, v := range i.internal {
		if !immediate || (immediate && v.pk.Expiry < 0) {
			es = append(es, v)
		}
	}

	sortEntries(es)

	m := make([]packets.Packet, len(es))
	for k := range es {
		m[k] = *es[k].pk
	}
	return m
}

// sortEntries sorts in-flight entries in their queueing order.
func sortEntries(es []inflightEntry) {
	sort.Slice(es, func(a, b int) bool {
		if es[a].order != es[b].order {
			return es[a].order < es[b].order
		}
		if es[a].pk.Created != es[b].pk.Created {
			return es[a].pk.Created < es[b].pk.Created
		}
		return es[a].pk.PacketID < es[b].pk.PacketID
	})
}

// NextImmediate returns the next inflight packet which is indicated to be sent immediately.
// This typically occurs when the quota has been exhausted, and we need to wait until new quota
// is free to continue sending.
func (i *Inflight) NextImmediate() (packets.Packet, bool) {
	m := i.GetAll(true) // takes the read lock (upstream took it twice, which deadlocks behind a waiting writer)
	if len(m) > 0 {
		return m[0], true
	}

	return packets.Packet{}, false
}

// Delete removes an in-flight message from the map. Returns true if the message existed.
func (i *Inflight) Delete(id uint16) bool {
	i.Lock()
	defer i.Unlock()

	_, ok := i.internal[id]
	delete(i.internal, id)
	i.shrink()

	return ok
}

// shrinkFrom is the size from which an in-flight map that has emptied to
// an eighth of its peak is rebuilt (Junction patch 11).
const shrinkFrom = 1024

// shrink rebuilds the map once it holds an eighth of its peak, from a peak
// of shrinkFrom: a Go map never shrinks, and after a burst (a subscriber
// thousands of messages behind) the table of a session back to ~100 in
// flight kept its size, so every lookup of its steady churn (NextPacketID,
// each PUBACK) touched a table of hundreds of KiB with a cache miss
// (Inflight.Has was 4 % of the broker's CPU at QoS 1). The copy costs one
// insert per packet left, paid once per 7/8 of the peak deleted.
func (i *Inflight) shrink() {
	n := len(i.internal)
	if i.peak < shrinkFrom || n > i.peak/8 {
		return
	}
	m := make(map[uint16]inflightEntry, 2*n)
	for k, v := range i.internal {
		m[k] = v
	}
	i.internal, i.peak = m, n
}

// TakeRecieveQuota reduces the receive quota by 1.
func (i *Inflight) DecreaseReceiveQuota() {
	if atomic.LoadInt32(&i.receiveQuota) > 0 {
		atomic.AddInt32(&i.receiveQuota, -1)
	}
}

// TakeRecieveQuota increases the receive quota by 1.
func (i *Inflight) IncreaseReceiveQuota() {
	if atomic.LoadInt32(&i.receiveQuota) < atomic.LoadInt32(&i.maximumReceiveQuota) {
		atomic.AddInt32(&i.receiveQuota, 1)
	}
}

// ResetReceiveQuota resets the receive quota to the maximum allowed value.
func (i *Inflight) ResetReceiveQuota(n int32) {
	atomic.StoreInt32(&i.receiveQuota, n)
	atomic.StoreInt32(&i.maximumReceiveQuota, n)
}

// DecreaseSendQuota reduces the send quota by 1.
func (i *Inflight) DecreaseSendQuota() {
	if atomic.LoadInt32(&i.sendQuota) > 0 {
		atomic.AddInt32(&i.sendQuota, -1)
	}
}

// IncreaseSendQuota increases the send quota by 1.
func (i *Inflight) IncreaseSendQuota() {
	if atomic.LoadInt32(&i.sendQuota) < atomic.LoadInt32(&i.maximumSendQuota) {
		atomic.AddInt32(&i.sendQuota, 1)
	}
}

// ResetSendQuota resets the send quota to the maximum allowed value.
func (i *Inflight) ResetSendQuota(n int32) {
	atomic.StoreInt32(&i.sendQuota, n)
	atomic.StoreInt32(&i.maximumSendQuota, n)
}
