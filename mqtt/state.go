package mqtt

import (
	"encoding"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/junctionmq/junction/core/store"
)

// State namespaces in the core's store (store.Store PutState). Values are
// mochi's storage records (JSON).
const (
	nsSession  = "mqtt/session"  // client id → storage.Client
	nsSub      = "mqtt/sub"      // client id NUL filter → storage.Subscription
	nsRetained = "mqtt/retained" // topic → storage.Message
	nsInflight = "mqtt/inflight" // client id NUL packet id → storage.Message
)

// stateHook is mochi's storage hook backed by the core's store: persistent
// sessions, their subscriptions and in-flight messages, and retained
// messages. Sessions that end with the connection (3.1.1 clean session,
// MQTT 5 session expiry 0) are not written at all.
type stateHook struct {
	mochi.HookBase
	st  store.Store
	w   *stateWriter
	log *slog.Logger
	// copies links in-flight records to the pending copies they replace
	// (set by New before mochi starts).
	copies *copies

	mu     sync.Mutex          // guards stored, wills
	stored map[string]struct{} // client ids with a session record
	// wills are the wills of connected sessions, read when the session
	// is established: mochi's event loop clears cl.Properties.Will of a
	// delayed will without a lock, so it is not read again later.
	wills map[string]mochi.Will
	// loadedUsers are the usernames of the sessions loaded at start
	// ("vhost:user"), for the records stored before vhost isolation.
	loadedUsers map[string]string

	// clients is mochi's client list (set by New before mochi starts).
	clients *mochi.Clients
	// Session take-overs (takeover.go), guarded by mu: next maps a
	// connection taken over to the one that took its session, live the
	// connections whose session is established (CONNACK sent, in-flight
	// messages resent).
	next map[*mochi.Client]*mochi.Client
	live map[*mochi.Client]bool
}

func newStateHook(st store.Store, log *slog.Logger) *stateHook {
	return &stateHook{st: st, w: newStateWriter(st, log), log: log, stored: map[string]struct{}{},
		wills: map[string]mochi.Will{}, loadedUsers: map[string]string{},
		next: map[*mochi.Client]*mochi.Client{}, live: map[*mochi.Client]bool{}}
}

// ID names the hook in mochi's logs.
func (h *stateHook) ID() string { return "junction-state" }

// Provides reports whether the hook handles an event (a table lookup, as
// for faceHook).
func (h *stateHook) Provides(b byte) bool { return stateEvents[b] }

// stateEvents are the events stateHook handles.
var stateEvents = eventSet(
	mochi.OnSessionEstablish,
	mochi.OnSessionEstablished,
	mochi.OnDisconnect,
	mochi.OnSubscribed,
	mochi.OnUnsubscribed,
	mochi.OnRetainMessage,
	mochi.OnWillSent,
	mochi.OnQosPublish,
	mochi.OnPublished,
	mochi.OnQosComplete,
	mochi.OnQosDropped,
	mochi.OnClientExpired,
	mochi.OnRetainedExpired,
	mochi.StoredClients,
	mochi.StoredInflightMessages,
	mochi.StoredRetainedMessages,
	mochi.StoredSubscriptions,
)

// close writes what is pending and stops the writer.
func (h *stateHook) close() { h.w.close() }

// ephemeral reports whether a client's session ends with its connection
// [MQTT-3.1.2-6] (3.1.1) and MQTT 5 3.1.2.11.2.
func ephemeral(cl *mochi.Client) bool {
	if cl.Properties.ProtocolVersion == 5 {
		return cl.Properties.Props.SessionExpiryInterval == 0
	}
	return cl.Properties.Clean
}

func subKey(clientID, filter string) string { return clientID + "\x00" + filter }

func inflightKey(clientID string, id uint16) string {
	return fmt.Sprintf("%s\x00%05d", clientID, id)
}

// OnSessionEstablished stores a persistent session, or removes the record
// of a session a clean start replaced.
func (h *stateHook) OnSessionEstablished(cl *mochi.Client, _ packets.Packet) {
	h.established(cl)
	if ephemeral(cl) {
		h.forgetClient(cl.ID)
		return
	}
	h.mu.Lock()
	h.wills[cl.ID] = cl.Properties.Will
	h.mu.Unlock()
	h.putClient(cl)
}

// OnWillSent stores the session without its will.
func (h *stateHook) OnWillSent(cl *mochi.Client, _ packets.Packet) {
	if ephemeral(cl) {
		return
	}
	h.mu.Lock()
	h.wills[cl.ID] = mochi.Will{}
	h.mu.Unlock()
	h.putClient(cl)
}

// OnDisconnect stores the session as it ends (session expiry may have
// changed) or removes an expiring one.
func (h *stateHook) OnDisconnect(cl *mochi.Client, _ error, expire bool) {
	h.copies.finish(cl.ID)
	h.disconnected(cl)
	if cl.Net.Conn == nil {
		return // a session restored from the store: nothing changed
	}
	if !expire {
		h.putClient(cl)
		return
	}
	if errors.Is(cl.StopCause(), packets.ErrSessionTakenOver) {
		return
	}
	h.forgetClient(cl.ID)
}

// will returns the will of a session as last seen by the hook.
func (h *stateHook) will(id string) mochi.Will {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wills[id]
}

// OnClientExpired removes an expired session and its in-flight messages.
func (h *stateHook) OnClientExpired(cl *mochi.Client) {
	for _, pk := range cl.State.Inflight.GetAll(false) {
		h.w.del(nsInflight, inflightKey(cl.ID, pk.PacketID))
	}
	h.forgetClient(cl.ID)
}

func (h *stateHook) putClient(cl *mochi.Client) {
	if cl.Net.Inline {
		return
	}
	props := cl.Properties.Props
	rec := storage.Client{
		ID: cl.ID, T: storage.ClientKey, Remote: cl.Net.Remote, Listener: cl.Net.Listener,
		Username: cl.Properties.Username, Clean: cl.Properties.Clean,
		ProtocolVersion: cl.Properties.ProtocolVersion,
		Properties: storage.ClientProperties{
			SessionExpiryInterval: props.SessionExpiryInterval, SessionExpiryIntervalFlag: props.SessionExpiryIntervalFlag,
			AuthenticationMethod: props.AuthenticationMethod, AuthenticationData: props.AuthenticationData,
			RequestProblemInfo: props.RequestProblemInfo, RequestProblemInfoFlag: props.RequestProblemInfoFlag,
			RequestResponseInfo: props.RequestResponseInfo, ReceiveMaximum: props.ReceiveMaximum,
			TopicAliasMaximum: props.TopicAliasMaximum, User: props.User, MaximumPacketSize: props.MaximumPacketSize,
		},
		Will: storage.ClientWill(h.will(cl.ID)),
	}
	if h.put(nsSession, cl.ID, rec) {
		h.mu.Lock()
		h.stored[cl.ID] = struct{}{}
		h.mu.Unlock()
	}
}

// forgetClient deletes a session record if one was written.
func (h *stateHook) forgetClient(id string) {
	h.mu.Lock()
	_, ok := h.stored[id]
	delete(h.stored, id)
	delete(h.wills, id)
	h.mu.Unlock()
	if ok {
		h.w.del(nsSession, id)
	}
}

func (h *stateHook) put(ns, key string, v encoding.BinaryMarshaler) bool {
	b, err := v.MarshalBinary()
	if err != nil {
		h.log.Error("mqtt state encode failed", "ns", ns, "error", err)
		return false
	}
	h.w.put(ns, key, b)
	return true
}

// OnSubscribed stores the granted subscriptions of a persistent session
// and waits until they are durable.
func (h *stateHook) OnSubscribed(cl *mochi.Client, pk packets.Packet, codes []byte) {
	if cl.Net.Inline || ephemeral(cl) {
		return
	}
	for i, f := range pk.Filters {
		if i >= len(codes) || codes[i] >= packets.ErrUnspecifiedError.Code {
			continue
		}
		h.put(nsSub, subKey(cl.ID, f.Filter), storage.Subscription{
			ID: subKey(cl.ID, f.Filter), T: storage.SubscriptionKey, Client: cl.ID,
			Filter: f.Filter, Qos: codes[i], Identifier: f.Identifier, NoLocal: f.NoLocal,
			RetainHandling: f.RetainHandling, RetainAsPublished: f.RetainAsPublished,
		})
	}
	// mochi sends the SUBACK after this hook: the session and its
	// subscriptions are durable by then, so messages published after the
	// SUBACK are queued for it even across a crash.
	h.w.flush()
}

// OnUnsubscribed removes subscriptions.
func (h *stateHook) OnUnsubscribed(cl *mochi.Client, pk packets.Packet) {
	if cl.Net.Inline || ephemeral(cl) {
		return
	}
	for _, f := range pk.Filters {
		h.w.del(nsSub, subKey(cl.ID, f.Filter))
	}
}

// OnRetainMessage stores or clears a retained message.
func (h *stateHook) OnRetainMessage(cl *mochi.Client, pk packets.Packet, r int64) {
	if isSys(pk.TopicName) {
		return // republished every Config.SysInterval (sys.go)
	}
	if r != 1 {
		h.w.del(nsRetained, pk.TopicName)
		return
	}
	rec := messageRecord(pk, storage.RetainedKey, pk.TopicName)
	rec.Client = cl.ID
	h.put(nsRetained, pk.TopicName, rec)
}

// OnRetainedExpired removes an expired retained message.
func (h *stateHook) OnRetainedExpired(topic string) { h.w.del(nsRetained, topic) }

// OnQosPublish stores an in-flight message of a persistent session. When it
// replaces a pending copy (copies.go), the copy is deleted in the same batch,
// after the record.
func (h *stateHook) OnQosPublish(cl *mochi.Client, pk packets.Packet, sent int64, _ int) {
	if cl.Net.Inline || ephemeral(cl) {
		return
	}
	key := inflightKey(cl.ID, pk.PacketID)
	rec := inflightRecord{Message: messageRecord(pk, storage.InflightKey, key)}
	rec.Client, rec.PacketID, rec.Sent = cl.ID, pk.PacketID, sent
	rec.Seq, _ = cl.State.Inflight.Order(pk.PacketID)
	if pk.FixedHeader.Type == packets.Publish {
		rec.Pending = h.copies.link(cl.ID, pk)
	}
	b, err := rec.encode()
	if err != nil {
		h.log.Error("mqtt state encode failed", "ns", nsInflight, "error", err)
		return
	}
	h.w.put(nsInflight, key, b)
	if rec.Pending != "" {
		h.w.del(nsPending, rec.Pending)
	}
}

// OnPublished ends a publish's fan-out: its copies that mochi did not queue
// are deleted.
func (h *stateHook) OnPublished(cl *mochi.Client, _ packets.Packet) {
	h.copies.finish(cl.ID)
}

// OnQosComplete removes a completed in-flight message.
func (h *stateHook) OnQosComplete(cl *mochi.Client, pk packets.Packet) {
	if !cl.Net.Inline && !ephemeral(cl) {
		h.w.del(nsInflight, inflightKey(cl.ID, pk.PacketID))
	}
}

// OnQosDropped removes a dropped in-flight message, unless mochi drops it
// from a connection whose persistent session another one took over
// (takeover.go).
func (h *stateHook) OnQosDropped(cl *mochi.Client, pk packets.Packet) {
	if cl.IsTakenOver() {
		h.takenOverDropped(cl, pk)
		return
	}
	h.OnQosComplete(cl, pk)
}

func messageRecord(pk packets.Packet, t, id string) storage.Message {
	p := pk.Properties
	return storage.Message{
		ID: id, T: t, FixedHeader: pk.FixedHeader, TopicName: pk.TopicName,
		Payload: pk.Payload, Created: pk.Created, Origin: pk.Origin,
		Properties: storage.MessageProperties{
			PayloadFormat: p.PayloadFormat, PayloadFormatFlag: p.PayloadFormatFlag,
			MessageExpiryInterval: p.MessageExpiryInterval, ContentType: p.ContentType,
			ResponseTopic: p.ResponseTopic, CorrelationData: p.CorrelationData,
			SubscriptionIdentifier: p.SubscriptionIdentifier, User: p.User,
		},
	}
}
