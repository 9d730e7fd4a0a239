package mqtt

import (
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// faceHook is the mochi hook that ties MQTT to the core: authentication and
// authorisation (auth.go), the hand-off of publishes and wills to the core
// (publish.go), the bindings of subscriptions (bridge.go) and the CONNACK
// capabilities.
type faceHook struct {
	mochi.HookBase
	s *Server

	// refused holds the reason code of a refused CONNECT until the CONNACK
	// is encoded (mochi always answers 0x86; see OnPacketEncode).
	refused sync.Map // *mochi.Client → byte
}

// ID names the hook in mochi's logs.
func (h *faceHook) ID() string { return "junction-face" }

// Provides reports whether the hook handles an event. mochi asks every hook
// before every event it dispatches, so it is a table lookup.
func (h *faceHook) Provides(b byte) bool { return faceEvents[b] }

// faceEvents are the events faceHook handles.
var faceEvents = eventSet(
	mochi.OnConnect,
	mochi.OnConnectAuthenticate,
	mochi.OnACLCheck,
	mochi.OnPacketEncode,
	mochi.OnPublish,
	mochi.OnWillSent,
	mochi.OnSubscribed,
	mochi.OnUnsubscribed,
	mochi.OnClientExpired,
	mochi.OnQosDropped,
	mochi.OnSelectSubscribers,
	mochi.OnSubscribe,
	mochi.OnUnsubscribe,
	mochi.OnWill,
)

// OnConnect refuses connections that arrive while the server shuts down.
//
// It also turns off topic aliases towards the client (a server may always
// send full topic names, MQTT 5 3.3.2.3.4): mochi stores a publish sent with
// an alias with its topic name cleared, so the copy kept in flight for a
// session could not be resent on a new connection or after a restart.
// Aliases from the client (TopicAliasMaximum in the CONNACK) work as usual.
func (h *faceHook) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	if h.s.closing.Load() {
		return errServerShuttingDown
	}
	cl.Properties.Props.TopicAliasMaximum = 0
	if cc := connOf(cl.Net.Conn); cc != nil && cl.Properties.ProtocolVersion == 5 {
		cc.v5.Store(true)
	}
	return nil
}

// OnConnectAuthenticate authenticates a CONNECT [MQTT-3.1.4-2].
func (h *faceHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	code := checkClientID(cl, pk)
	if code == 0 {
		code = h.s.authenticate(cl, pk)
	}
	if code == 0 {
		code = h.s.admit(cl)
	}
	if code == 0 {
		return true
	}
	h.refused.Store(cl, code)
	return false
}

// OnACLCheck authorises a publish (write) or a subscription or delivery
// (read). The bridge's own injections (inline clients) are not checked.
//
// mochi asks about a delivery right before it queues the message to the
// subscriber cl, in the publisher's goroutine: a subscriber whose outbound
// queue is full makes the publisher wait there (outboundWait) instead of
// losing the message.
func (h *faceHook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	ok := h.s.allowedClient(cl, topic, write)
	if ok && !write {
		h.s.outboundWait(cl)
	}
	return ok
}

// OnPacketEncode fixes mochi's PUBACK reason code and the CONNACK: a refused CONNECT gets its own reason
// code (mochi sends 0x86, or 0x05 in 3.1.1, for every refusal), and an
// accepted MQTT 5 one advertises the server's capabilities (MQTT 5
// 3.2.2.3), which mochi leaves out.
func (h *faceHook) OnPacketEncode(cl *mochi.Client, pk *packets.Packet) {
	if pk.FixedHeader.Type == packets.Publish {
		pk.TopicName = userTopic(pk.TopicName) // vhost.go
		return
	}
	if pk.FixedHeader.Type == packets.Puback && (pk.ReasonCode == 0x01 || pk.ReasonCode == 0x02) {
		// mochi acknowledges a QoS 1 publish with the granted-QoS code
		// 0x01, which is no PUBACK reason code (MQTT 5 3.4.2.1); strict
		// clients (python3-paho-mqtt) fail on it.
		pk.ReasonCode = packets.CodeSuccess.Code
		return
	}
	if pk.FixedHeader.Type != packets.Connack {
		return
	}
	if v, ok := h.refused.LoadAndDelete(cl); ok {
		code := v.(byte)
		if cl.Properties.ProtocolVersion < 5 {
			pk.ReasonCode = v3Connack(code)
			return
		}
		pk.ReasonCode = code
		switch code {
		case errNotAuthorized.Code:
			pk.Properties.ReasonString = errNotAuthorized.Reason
		case errQuotaExceeded.Code:
			pk.Properties.ReasonString = "too many connections"
		}
		return
	}
	if cl.Properties.ProtocolVersion < 5 {
		pk.ReasonCode = v3Connack(pk.ReasonCode) // mochi's own refusals
		return
	}
	if pk.ReasonCode != 0 {
		return
	}
	caps := h.s.m.Options.Capabilities
	p := &pk.Properties
	p.TopicAliasMaximum = caps.TopicAliasMaximum
	p.MaximumPacketSize = caps.MaximumPacketSize
	p.RetainAvailable, p.RetainAvailableFlag = caps.RetainAvailable, true
	p.WildcardSubAvailable, p.WildcardSubAvailableFlag = caps.WildcardSubAvailable, true
	p.SubIDAvailable, p.SubIDAvailableFlag = caps.SubIDAvailable, true
	p.SharedSubAvailable, p.SharedSubAvailableFlag = caps.SharedSubAvailable, true
}

// checkClientID applies the client identifier rules of MQTT 3.1: 1 to 23
// characters (MQTT 3.1 3.1, "Client Identifier"). MQTT 3.1.1 allows longer
// ones and an empty one with clean session only [MQTT-3.1.3-7], which mochi
// checks; 5.0 assigns one.
func checkClientID(cl *mochi.Client, pk packets.Packet) byte {
	if cl.Properties.ProtocolVersion != 3 {
		return 0
	}
	if n := len(pk.Connect.ClientIdentifier); n == 0 || n > 23 {
		return errIDNotValid.Code
	}
	return 0
}

// eventSet is a lookup table of mochi hook events.
func eventSet(events ...byte) *[256]bool {
	var t [256]bool
	for _, e := range events {
		t[e] = true
	}
	return &t
}
