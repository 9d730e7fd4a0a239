package mqtt

import (
	"slices"
	"strings"
)

// ClientInfo is one MQTT session as the management API lists it.
type ClientInfo struct {
	ID              string
	Vhost, User     string
	Connected       bool   // false: a persistent session kept for a client that is away
	Remote          string // the client's address ("" for a restored session)
	Listener        string // the listener id it connected through
	ProtocolVersion byte   // 3 (3.1), 4 (3.1.1) or 5
	Clean           bool   // clean session / clean start
	Inflight        int    // QoS 1 and 2 messages awaiting acknowledgement
	Subscriptions   []SubscriptionInfo
}

// SubscriptionInfo is one subscription of a session.
type SubscriptionInfo struct {
	Filter string // as the client subscribed it ("$share/group/..." for a shared one), without the vhost root
	QoS    byte
}

// Clients lists the sessions mochi holds, connected or not, by client id.
// The embedded $SYS publisher and other inline clients are left out.
func (s *Server) Clients() []ClientInfo {
	all := s.m.Clients.GetAll()
	out := make([]ClientInfo, 0, len(all))
	for _, cl := range all {
		if cl.Net.Inline {
			continue
		}
		vhost, user := s.identity(cl)
		ci := ClientInfo{ID: cl.ID, Vhost: vhost, User: user, Connected: !cl.Closed(), Remote: cl.Net.Remote,
			Listener: cl.Net.Listener, ProtocolVersion: cl.Properties.ProtocolVersion, Clean: cl.Properties.Clean,
			Inflight: cl.State.Inflight.Len()}
		for _, sub := range cl.State.Subscriptions.GetAll() {
			ci.Subscriptions = append(ci.Subscriptions, SubscriptionInfo{Filter: userFilter(sub.Filter), QoS: sub.Qos})
		}
		slices.SortFunc(ci.Subscriptions, func(a, b SubscriptionInfo) int { return strings.Compare(a.Filter, b.Filter) })
		out = append(out, ci)
	}
	slices.SortFunc(out, func(a, b ClientInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}
