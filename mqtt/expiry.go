package mqtt

import (
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/tally"
)

// restoreExpiry gives retained and in-flight messages loaded from the store
// their MQTT 5 expiry again: mochi's records keep the message expiry
// interval and the creation time but not the deadline, so without this a
// message that should expire would live forever after a restart
// [MQTT-3.3.2-5].
func (s *Server) restoreExpiry() {
	for topic, pk := range s.m.Topics.Retained.GetAll() {
		if withExpiry(&pk) {
			s.m.Topics.Retained.Add(topic, pk)
		}
	}
	for _, cl := range s.m.Clients.GetAll() {
		for _, pk := range cl.State.Inflight.GetAll(false) {
			if withExpiry(&pk) {
				cl.State.Inflight.Set(pk)
			}
		}
	}
}

// withExpiry sets pk's deadline from its creation time and expiry interval
// if it has an interval but no deadline, and reports whether it did.
func withExpiry(pk *packets.Packet) bool {
	iv := pk.Properties.MessageExpiryInterval
	if pk.FixedHeader.Type != packets.Publish || iv == 0 || pk.Expiry != 0 {
		return false
	}
	pk.Expiry = pk.Created + int64(iv)
	pk.ProtocolVersion = 5 // mochi expires only MQTT 5 messages; only they carry an interval
	return true
}

// OnQosDropped counts an in-flight message mochi dropped because its MQTT 5
// expiry passed before the subscriber acknowledged it [MQTT-3.3.2-5]
// (mochi's other drops are counted in Stats: MessagesDropped and
// InflightDropped).
func (h *faceHook) OnQosDropped(cl *mochi.Client, pk packets.Packet) {
	if pk.FixedHeader.Type == packets.Publish && pk.Expiry > 0 && pk.Expiry < time.Now().Unix() {
		h.s.b.Tally().Face(message.FaceMQTT).Dropped(tally.Expired, 1)
	}
}
