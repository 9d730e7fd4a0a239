// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2022 mochi-mqtt, mochi-co
// SPDX-FileContributor: mochi-co

package mqtt

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/stretchr/testify/require"
)

func TestInflightSet(t *testing.T) {
	cl, _, _ := newTestClient()

	r := cl.State.Inflight.Set(packets.Packet{PacketID: 1})
	require.True(t, r)
	require.NotNil(t, cl.State.Inflight.internal[1])
	require.NotEqual(t, 0, cl.State.Inflight.internal[1].pk.PacketID)

	r = cl.State.Inflight.Set(packets.Packet{PacketID: 1})
	require.False(t, r)
}

func TestInflightGet(t *testing.T) {
	cl, _, _ := newTestClient()
	cl.State.Inflight.Set(packets.Packet{PacketID: 2})

	msg, ok := cl.State.Inflight.Get(2)
	require.True(t, ok)
	require.NotEqual(t, 0, msg.PacketID)
}

func TestInflightGetAllAndImmediate(t *testing.T) {
	cl, _, _ := newTestClient()
	cl.State.Inflight.Set(packets.Packet{PacketID: 1, Created: 1})
	cl.State.Inflight.Set(packets.Packet{PacketID: 2, Created: 2})
	cl.State.Inflight.Set(packets.Packet{PacketID: 3, Created: 3, Expiry: -1})
	cl.State.Inflight.Set(packets.Packet{PacketID: 4, Created: 4, Expiry: -1})
	cl.State.Inflight.Set(packets.Packet{PacketID: 5, Created: 5})

	require.Equal(t, []packets.Packet{
		{PacketID: 1, Created: 1},
		{PacketID: 2, Created: 2},
		{PacketID: 3, Created: 3, Expiry: -1},
		{PacketID: 4, Created: 4, Expiry: -1},
		{PacketID: 5, Created: 5},
	}, cl.State.Inflight.GetAll(false))

	require.Equal(t, []packets.Packet{
		{PacketID: 3, Created: 3, Expiry: -1},
		{PacketID: 4, Created: 4, Expiry: -1},
	}, cl.State.Inflight.GetAll(true))
}

func TestInflightLen(t *testing.T) {
	cl, _, _ := newTestClient()
	cl.State.Inflight.Set(packets.Packet{PacketID: 2})
	require.Equal(t, 1, cl.State.Inflight.Len())
}

func TestInflightClone(t *testing.T) {
	cl, _, _ := newTestClient()
	cl.State.Inflight.Set(packets.Packet{PacketID: 2})
	require.Equal(t, 1, cl.State.Inflight.Len())

	cloned := cl.State.Inflight.Clone()
	require.NotNil(t, cloned)
	require.NotSame(t, cloned, cl.State.Inflight)
}

func TestInflightDelete(t *testing.T) {
	cl, _, _ := newTestClient()

	cl.State.Inflight.Set(packets.Packet{PacketID: 3})
	require.NotNil(t, cl.State.Inflight.internal[3])

	r := cl.State.Inflight.Delete(3)
	require.True(t, r)
	require.Nil(t, cl.State.Inflight.internal[3].pk)

	_, ok := cl.State.Inflight.Get(3)
	require.False(t, ok)

	r = cl.State.Inflight.Delete(3)
	require.False(t, r)
}

func TestResetReceiveQuota(t *testing.T) {
	i := NewInflights()
	require.Equal(t, int32(0), atomic.LoadInt32(&i.maximumReceiveQuota))
	require.Equal(t, int32(0), atomic.LoadInt32(&i.receiveQuota))
	i.ResetReceiveQuota(6)
	require.Equal(t, int32(6), atomic.LoadInt32(&i.maximumReceiveQuota))
	require.Equal(t, int32(6), atomic.LoadInt32(&i.receiveQuota))
}

func TestReceiveQuota(t *testing.T) {
	i := NewInflights()
	i.receiveQuota = 4
	i.maximumReceiveQuota = 5
	require.Equal(t, int32(5), atomic.LoadInt32(&i.maximumReceiveQuota))
	require.Equal(t, int32(4), atomic.LoadInt32(&i.receiveQuota))

	// Return 1
	i.IncreaseReceiveQuota()
	require.Equal(t, int32(5), atomic.LoadInt32(&i.maximumReceiveQuota))
	require.Equal(t, int32(5), atomic.LoadInt32(&i.receiveQuota))

	// Try to go over max limit
	i.IncreaseReceiveQuota()
	require.Equal(t, int32(5), atomic.LoadInt32(&i.maximumReceiveQuota))
	require.Equal(t, int32(5), atomic.LoadInt32(&i.receiveQuota))

	// Reset to max 1
	i.ResetReceiveQuota(1)
	require.Equal(t, int32(1), atomic.LoadInt32(&i.maximumReceiveQuota))
	require.Equal(t, int32(1), atomic.LoadInt32(&i.receiveQuota))

	// Take 1
	i.DecreaseReceiveQuota()
	require.Equal(t, int32(1), atomic.LoadInt32(&i.maximumReceiveQuota))
	require.Equal(t, int32(0), atomic.LoadInt32(&i.receiveQuota))

	// Try to go below zero
	i.DecreaseReceiveQuota()
	require.Equal(t, int32(1), atomic.LoadInt32(&i.maximumReceiveQuota))
	require.Equal(t, int32(0), atomic.LoadInt32(&i.receiveQuota))
}

func TestResetSendQuota(t *testing.T) {
	i := NewInflights()
	require.Equal(t, int32(0), atomic.LoadInt32(&i.maximumSendQuota))
	require.Equal(t, int32(0), atomic.LoadInt32(&i.sendQuota))
	i.ResetSendQuota(6)
	require.Equal(t, int32(6), atomic.LoadInt32(&i.maximumSendQuota))
	require.Equal(t, int32(6), atomic.LoadInt32(&i.sendQuota))
}

func TestSendQuota(t *testing.T) {
	i := NewInflights()
	i.sendQuota = 4
	i.maximumSendQuota = 5
	require.Equal(t, int32(5), atomic.LoadInt32(&i.maximumSendQuota))
	require.Equal(t, int32(4), atomic.LoadInt32(&i.sendQuota))

	// Return 1
	i.IncreaseSendQuota()
	require.Equal(t, int32(5), atomic.LoadInt32(&i.maximumSendQuota))
	require.Equal(t, int32(5), atomic.LoadInt32(&i.sendQuota))

	// Try to go over max limit
	i.IncreaseSendQuota()
	require.Equal(t, int32(5), atomic.LoadInt32(&i.maximumSendQuota))
	require.Equal(t, int32(5), atomic.LoadInt32(&i.sendQuota))

	// Reset to max 1
	i.ResetSendQuota(1)
	require.Equal(t, int32(1), atomic.LoadInt32(&i.maximumSendQuota))
	require.Equal(t, int32(1), atomic.LoadInt32(&i.sendQuota))

	// Take 1
	i.DecreaseSendQuota()
	require.Equal(t, int32(1), atomic.LoadInt32(&i.maximumSendQuota))
	require.Equal(t, int32(0), atomic.LoadInt32(&i.sendQuota))

	// Try to go below zero
	i.DecreaseSendQuota()
	require.Equal(t, int32(1), atomic.LoadInt32(&i.maximumSendQuota))
	require.Equal(t, int32(0), atomic.LoadInt32(&i.sendQuota))
}

func TestNextImmediate(t *testing.T) {
	cl, _, _ := newTestClient()
	cl.State.Inflight.Set(packets.Packet{PacketID: 1, Created: 1})
	cl.State.Inflight.Set(packets.Packet{PacketID: 2, Created: 2})
	cl.State.Inflight.Set(packets.Packet{PacketID: 3, Created: 3, Expiry: -1})
	cl.State.Inflight.Set(packets.Packet{PacketID: 4, Created: 4, Expiry: -1})
	cl.State.Inflight.Set(packets.Packet{PacketID: 5, Created: 5})

	pk, ok := cl.State.Inflight.NextImmediate()
	require.True(t, ok)
	require.Equal(t, packets.Packet{PacketID: 3, Created: 3, Expiry: -1}, pk)

	r := cl.State.Inflight.Delete(3)
	require.True(t, r)

	pk, ok = cl.State.Inflight.NextImmediate()
	require.True(t, ok)
	require.Equal(t, packets.Packet{PacketID: 4, Created: 4, Expiry: -1}, pk)

	r = cl.State.Inflight.Delete(4)
	require.True(t, r)

	_, ok = cl.State.Inflight.NextImmediate()
	require.False(t, ok)
}

// Junction patch 1: GetAll returns packets in the order they were queued,
// whatever their creation second and packet id.
func TestInflightGetAllQueueOrder(t *testing.T) {
	cl, _, _ := newTestClient()
	ids := []uint16{9, 3, 65535, 1, 7}
	for _, id := range ids {
		cl.State.Inflight.Set(packets.Packet{PacketID: id, Created: 1700000000})
	}
	cl.State.Inflight.Set(packets.Packet{PacketID: 3, Created: 1700000001}) // an update keeps its place
	var got []uint16
	for _, pk := range cl.State.Inflight.GetAll(false) {
		got = append(got, pk.PacketID)
	}
	require.Equal(t, ids, got)
}

// Junction patch 2: SealInto moves the packets with their order, and a
// sealed list takes no more.
func TestInflightSealInto(t *testing.T) {
	old, _, _ := newTestClient()
	old.State.Inflight.Set(packets.Packet{PacketID: 2})
	old.State.Inflight.Set(packets.Packet{PacketID: 1})
	cl, _, _ := newTestClient()
	old.State.Inflight.SealInto(cl.State.Inflight)
	require.True(t, old.State.Inflight.Sealed())
	require.False(t, old.State.Inflight.Set(packets.Packet{PacketID: 3}))
	_, ok := old.State.Inflight.Get(3)
	require.False(t, ok)
	cl.State.Inflight.Set(packets.Packet{PacketID: 3})
	var got []uint16
	for _, pk := range cl.State.Inflight.GetAll(false) {
		got = append(got, pk.PacketID)
	}
	require.Equal(t, []uint16{2, 1, 3}, got)
}

func TestInflightHoldRelease(t *testing.T) {
	i := NewInflights()
	pub := func(id uint16) packets.Packet {
		return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: id}
	}
	stored, held := i.Put(pub(5)) // inherited: written before, resent as a duplicate
	require.True(t, stored)
	require.False(t, held)
	i.Hold()
	stored, held = i.Put(pub(2)) // queued while held: first written by Release's caller
	require.True(t, stored)
	require.True(t, held)
	_, held = i.Put(pub(2)) // an update stays held
	require.True(t, held)

	var ids []uint16
	var dups []bool
	for _, pk := range i.Release() {
		ids = append(ids, pk.PacketID)
		dups = append(dups, pk.FixedHeader.Dup)
	}
	require.Equal(t, []uint16{5, 2}, ids)
	require.Equal(t, []bool{true, false}, dups)

	stored, held = i.Put(pub(3)) // after the release, written by whoever stores it
	require.True(t, stored)
	require.False(t, held)
	require.Equal(t, 3, i.Len())
	for _, pk := range i.GetAll(false) {
		require.False(t, pk.FixedHeader.Dup, "Release marks only the copies it returns")
	}
}

// TestInflightShrinksAfterBurst: a map that held shrinkFrom or more packets
// is rebuilt once it is down to an eighth of that (Junction patch 11), and
// keeps every packet, in its order.
func TestInflightShrinksAfterBurst(t *testing.T) {
	i := NewInflights()
	const burst = 2 * shrinkFrom
	for id := 1; id <= burst; id++ {
		require.True(t, i.Set(packets.Packet{PacketID: uint16(id)}))
	}
	require.Equal(t, burst, i.peak)
	before := i.internal
	left := burst / 8
	for id := 1; id <= burst-left-1; id++ {
		require.True(t, i.Delete(uint16(id)))
	}
	require.Equal(t, burst, i.peak, "not rebuilt above an eighth of the peak")
	require.True(t, i.Delete(uint16(burst-left)))
	require.Equal(t, left, i.peak, "rebuilt at an eighth of the peak")
	require.NotEqual(t, fmt.Sprintf("%p", before), fmt.Sprintf("%p", i.internal))

	all := i.GetAll(false)
	require.Len(t, all, left)
	for n, pk := range all {
		require.Equal(t, uint16(burst-left+1+n), pk.PacketID, "order kept")
	}
	require.False(t, i.Delete(1))
	require.True(t, i.Set(packets.Packet{PacketID: 1}))
	require.True(t, i.Delete(1))
}
