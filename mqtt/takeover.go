package mqtt

import (
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Session take-over without loss.
//
// When a client connects with the client id of a connected persistent
// session, mochi (inheritClientSession) marks the old connection taken
// over, copies its in-flight messages to the new connection, drops them
// from the old one (OnQosDropped) and only then puts the new connection in
// its client list. Two things went wrong with that for a persistent
// session:
//
//   - the drop removed the stored records of the in-flight messages the
//     new connection now holds (same client id, same packet ids), so a
//     crash after a take-over lost them;
//   - a message published between the copy and the list update is handed
//     to the old connection (the list still names it) and was never
//     delivered: the soak run lost QoS 1 messages around reconnections.
//
// The state hook therefore keeps the records mochi drops from a taken-over
// connection when the new one holds the same message. The second is fixed
// in our copy of mochi (third_party/mochi-mqtt/PATCHES.md): the take-over
// moves the in-flight messages in their order and seals the old list, and
// a message queued to the old connection after that is redirected to the
// new one. As a safety net, any other in-flight message the old connection
// still holds is moved to the new one (a new packet id, its order kept, its
// record rewritten): when mochi drops it, when the new session is
// established, and when the old connection ends. Until the new session is
// established the moved messages wait in its in-flight list, which mochi
// resends after the CONNACK; afterwards they are written at once.

// OnSessionEstablish notes the connection a new one takes over.
func (h *stateHook) OnSessionEstablish(cl *mochi.Client, _ packets.Packet) {
	if h.clients == nil {
		return
	}
	if old, ok := h.clients.Get(cl.ID); ok && old != cl {
		h.mu.Lock()
		h.next[old] = cl
		h.mu.Unlock()
	}
}

// successor returns the connection that took old's session over, and
// whether its session is established.
func (h *stateHook) successor(old *mochi.Client) (*mochi.Client, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cl := h.next[old]
	return cl, cl != nil && h.live[cl]
}

// takenOverDropped is OnQosDropped for a connection another took over.
func (h *stateHook) takenOverDropped(old *mochi.Client, pk packets.Packet) {
	cl, live := h.successor(old)
	if cl == nil || ephemeral(cl) {
		// Not a persistent take-over we saw begin: the record stays, and
		// the message comes back with the session at the next start.
		return
	}
	if in, ok := cl.State.Inflight.Get(pk.PacketID); ok && in.Created == pk.Created && in.TopicName == pk.TopicName {
		return // copied to the new connection: its record is the new one's
	}
	h.move(old, cl, pk, 0, live)
}

// established sweeps what the connection cl took over still holds.
func (h *stateHook) established(cl *mochi.Client) {
	h.mu.Lock()
	h.live[cl] = true
	var olds []*mochi.Client
	for old, next := range h.next {
		if next == cl {
			olds = append(olds, old)
		}
	}
	h.mu.Unlock()
	for _, old := range olds {
		h.sweep(old, cl, true)
	}
}

// disconnected sweeps a taken-over connection as it ends, once the
// session that took it over is established (before that, mochi copies
// what it holds, and established sweeps the rest), and forgets cl's own
// bookkeeping.
func (h *stateHook) disconnected(cl *mochi.Client) {
	next, live := h.successor(cl)
	if next != nil && !live {
		h.mu.Lock()
		delete(h.live, cl)
		h.mu.Unlock()
		return
	}
	if next != nil {
		h.sweep(cl, next, true)
	}
	h.mu.Lock()
	delete(h.next, cl)
	delete(h.live, cl)
	h.mu.Unlock()
}

// sweep moves every in-flight message old still holds to cl.
func (h *stateHook) sweep(old, cl *mochi.Client, send bool) {
	if ephemeral(cl) {
		return
	}
	for _, pk := range old.State.Inflight.GetAll(false) {
		order, _ := old.State.Inflight.Order(pk.PacketID)
		if old.State.Inflight.Delete(pk.PacketID) {
			h.move(old, cl, pk, order, send)
		}
	}
}

// move gives pk, an in-flight message of the taken-over connection old, to
// cl under a new packet id and its order number (0: a new one), rewrites
// its record, and writes it to cl when send is set or cl's in-flight list
// is no longer held (else mochi writes it after the CONNACK).
func (h *stateHook) move(old, cl *mochi.Client, pk packets.Packet, order uint64, send bool) {
	oldKey := inflightKey(old.ID, pk.PacketID)
	id, err := cl.NextPacketID()
	if err != nil {
		h.log.Warn("mqtt take-over: no packet id for an in-flight message; it comes back at the next start",
			"client", cl.ID, "error", err)
		return
	}
	pk.PacketID = uint16(id)
	stored, held := cl.State.Inflight.PutOrdered(pk, order)
	if !stored {
		return // already there
	}
	if key := inflightKey(cl.ID, pk.PacketID); key != oldKey {
		rec := inflightRecord{Message: messageRecord(pk, storage.InflightKey, key)}
		rec.Client, rec.PacketID, rec.Sent = cl.ID, pk.PacketID, time.Now().Unix()
		rec.Seq, _ = cl.State.Inflight.Order(pk.PacketID)
		if b, err := rec.encode(); err == nil {
			h.w.put(nsInflight, key, b) // before the old record goes, in the same order on disk
			h.w.del(nsInflight, oldKey)
		} else {
			h.log.Error("mqtt state encode failed", "ns", nsInflight, "error", err)
		}
	}
	if send || !held {
		// Written now unless cl's list is held: then mochi writes it with
		// the CONNACK's in-flight messages (connectClient). Once released,
		// the list writes nothing more by itself, even before cl's session
		// counts as established here.
		out := pk.Copy(true)
		out.FixedHeader.Dup = true
		_ = cl.WritePacket(out) // on failure it is resent at the next connection
	}
}
