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
	internal            map[uint16]packets.Packet // internal contains the inflight packets
	order               map[uint16]uint64         // queueing order of the packets in internal
	sealed              bool                      // moved to a session that took this one over
	receiveQuota        int32                     // remaining inbound qos quota for flow control
	sendQuota           int32                     // remaining outbound qos quota for flow control
	maximumReceiveQuota int32                     // maximum allowed receive quota
	maximumSendQuota    int32                     // maximum allowed send quota
}

// NewInflights returns a new instance of an Inflight packets map.
func NewInflights() *Inflight {
	return &Inflight{
		internal: map[uint16]packets.Packet{},
		order:    map[uint16]uint64{},
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
	i.Lock()
	defer i.Unlock()

	if i.sealed {
		return false
	}
	_, ok := i.internal[m.PacketID]
	i.internal[m.PacketID] = m
	if order != 0 || !ok {
		if order == 0 {
			order = NextInflightOrder()
		}
		i.order[m.PacketID] = order
	}
	return !ok
}

// Order returns the order number of an inflight packet.
func (i *Inflight) Order(id uint16) (uint64, bool) {
	i.RLock()
	defer i.RUnlock()
	o, ok := i.order[id]
	return o, ok
}

// Get returns an inflight packet by packet id.
func (i *Inflight) Get(id uint16) (packets.Packet, bool) {
	i.RLock()
	defer i.RUnlock()

	if m, ok := i.internal[id]; ok {
		return m, true
	}

	return packets.Packet{}, false
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
	for k, v := range i.order {
		c.order[k] = v
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
		dst.order[k] = i.order[k]
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

	m := []packets.Packet{}
	for _, v := range i.internal {
		if !immediate || (immediate && v.Expiry < 0) {
			m = append(m, v)
		}
	}

	sort.Slice(m, func(a, b int) bool {
		oa, ob := i.order[m[a].PacketID], i.order[m[b].PacketID]
		if oa != ob {
			return oa < ob
		}
		if m[a].Created != m[b].Created {
			return m[a].Created < m[b].Created
		}
		return m[a].PacketID < m[b].PacketID
	})

	return m
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
	delete(i.order, id)

	return ok
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
