package mqtt

import (
	"strings"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Vhost isolation. mochi has one topic tree; the face keeps the vhosts of
// its clients apart in it by rooting every topic name and filter of a
// client under an internal first level that names the client's vhost: in
// vhost "/", "a/b" is "$V:%2F/a/b" inside mochi, and a filter "+/b" is
// "$V:%2F/+/b". The hooks rewrite on the way in (OnPublish for publishes,
// OnSubscribe and OnUnsubscribe for filters, OnWill for wills, the bridge
// for messages from other faces) and back on the way out (OnPacketEncode
// strips the root of every PUBLISH written to a client; the hooks strip it
// before an ACL check or a hand-off to the core).
//
// Why a root per vhost rather than one mochi server per vhost: mochi keeps
// doing all MQTT semantics itself on the rooted names, unchanged. NoLocal
// compares client ids, retained messages are stored and matched under the
// rooted name (so a vhost's subscribers only see its own), a shared
// subscription "$share/g/f" becomes "$share/g/{root}/f" (so groups of the
// same name in two vhosts are two groups), inbound topic aliases are
// resolved by mochi before OnPublish and so map to the client's own names.
// One server per vhost would need the CONNECT parsed before mochi sees it,
// and one storage hook, $SYS publisher and statistics per server.
//
// The root cannot be addressed by a client: everything a client sends is
// rooted, so a client that names another vhost's root only reaches a topic
// below its own. Topics whose first level starts with "$" get a root of
// their own ("$V$:..."), so that "#" and "+/..." still do not match them
// [MQTT-4.7.2-1]. $SYS is the one unrooted tree: broker-wide figures that
// every vhost may read (clients cannot publish to it). Vhost names are
// escaped so that no root contains "/", "+" or "#".
//
// Client identifiers stay global, as in mochi: a CONNECT whose client id
// names a session of another vhost is refused (0x85, 3.1.1: 0x02) rather
// than handed that session.
const (
	rootPrefix       = "$V:"
	rootPrefixDollar = "$V$:"
)

// escapeVhost makes a vhost name one topic level without wildcards.
func escapeVhost(vhost string) string {
	if !strings.ContainsAny(vhost, "%/+#\x00") {
		return vhost
	}
	var b strings.Builder
	for i := 0; i < len(vhost); i++ {
		switch c := vhost[i]; c {
		case '%', '/', '+', '#', 0:
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// vhostRoots are the two roots of a vhost, each with its trailing "/".
type vhostRoots struct {
	plain, dollar string
}

func rootsOf(vhost string) vhostRoots {
	e := escapeVhost(vhost)
	return vhostRoots{plain: rootPrefix + e + "/", dollar: rootPrefixDollar + e + "/"}
}

// topic roots a topic name or a plain (not shared) filter.
func (r vhostRoots) topic(t string) string {
	if t != "" && t[0] == '$' {
		return r.dollar + t
	}
	return r.plain + t
}

// filter roots a subscription filter: $SYS filters stay unrooted, a shared
// subscription keeps its "$share/{group}/" in front, and an invalid filter
// is left as it is for mochi to refuse.
func (r vhostRoots) filter(f string) string {
	if isSys(f) || !mochi.IsValidFilter(f, false) {
		return f
	}
	if mochi.IsSharedFilter(f) {
		share, group, rest := splitShared(f)
		if rest == "" || isSys(rest) {
			return f
		}
		return share + "/" + group + "/" + r.topic(rest)
	}
	return r.topic(f)
}

// splitShared splits "$share/{group}/{filter}".
func splitShared(f string) (share, group, rest string) {
	share, after, _ := strings.Cut(f, "/")
	group, rest, _ = strings.Cut(after, "/")
	return share, group, rest
}

// userTopic strips the vhost root from a topic name or plain filter, as the
// client named it; a name without a root ($SYS) is returned as it is.
func userTopic(t string) string {
	if !strings.HasPrefix(t, rootPrefix) && !strings.HasPrefix(t, rootPrefixDollar) {
		return t
	}
	if i := strings.IndexByte(t, '/'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// userFilter strips the vhost root from a filter, shared or not.
func userFilter(f string) string {
	if len(f) > len(sharePrefix) && strings.EqualFold(f[:len(sharePrefix)], sharePrefix) {
		share, group, rest := splitShared(f)
		if u := userTopic(rest); len(u) != len(rest) {
			return share + "/" + group + "/" + u
		}
		return f
	}
	return userTopic(f)
}

// roots returns the roots of cl's vhost.
func (s *Server) roots(cl *mochi.Client) vhostRoots {
	if cc := connOf(cl.Net.Conn); cc != nil && cc.user != "" {
		return cc.roots
	}
	vhost, _ := s.identity(cl)
	return rootsOf(vhost)
}

// rootTopic roots a topic name the client cl publishes to; the last one is
// kept on the connection, as publishers tend to repeat their topic.
func (s *Server) rootTopic(cl *mochi.Client, t string) string {
	cc := connOf(cl.Net.Conn)
	if cc == nil || cc.user == "" {
		return s.roots(cl).topic(t)
	}
	if t != cc.lastTopic || cc.lastRooted == "" {
		cc.lastTopic, cc.lastRooted, cc.lastKey = t, cc.roots.topic(t), ""
	}
	return cc.lastRooted
}

// coreKey is the routing key of the rooted topic name a client published
// to (OnPublish, in its read loop).
func (s *Server) coreKey(cl *mochi.Client, rooted string) string {
	cc := connOf(cl.Net.Conn)
	if cc == nil || cc.lastRooted != rooted {
		return TopicToKey(userTopic(rooted))
	}
	if cc.lastKey == "" {
		cc.lastKey = TopicToKey(userTopic(rooted))
	}
	return cc.lastKey
}

// OnSubscribe roots the filters of a SUBSCRIBE in the client's vhost.
func (h *faceHook) OnSubscribe(cl *mochi.Client, pk packets.Packet) packets.Packet {
	h.s.subs.invalidate() // mochi changes its topic index next (subcache.go)
	return h.s.rootFilters(cl, pk)
}

// OnUnsubscribe roots the filters of an UNSUBSCRIBE in the client's vhost.
func (h *faceHook) OnUnsubscribe(cl *mochi.Client, pk packets.Packet) packets.Packet {
	h.s.subs.invalidate() // mochi changes its topic index next (subcache.go)
	return h.s.rootFilters(cl, pk)
}

// rootFilters roots the filters of a client's SUBSCRIBE or UNSUBSCRIBE (a
// copy: mochi's packet is left as it was read).
func (s *Server) rootFilters(cl *mochi.Client, pk packets.Packet) packets.Packet {
	if cl.Net.Inline {
		return pk
	}
	r := s.roots(cl)
	filters := make(packets.Subscriptions, len(pk.Filters))
	for i, f := range pk.Filters {
		f.Filter = r.filter(f.Filter)
		filters[i] = f
	}
	pk.Filters = filters
	return pk
}

// OnWill roots a will's topic in the client's vhost when mochi sends it
// (now or after its delay); the will is stored with the client's own name.
func (h *faceHook) OnWill(cl *mochi.Client, will mochi.Will) (mochi.Will, error) {
	if will.TopicName != "" && userTopic(will.TopicName) == will.TopicName {
		will.TopicName = h.s.roots(cl).topic(will.TopicName)
	}
	return will, nil
}

// crossVhostSession reports whether a session with cl's client id exists in
// another vhost than vhost.
func (s *Server) crossVhostSession(cl *mochi.Client, vhost string) bool {
	if s.m == nil {
		return false
	}
	old, ok := s.m.Clients.Get(cl.ID)
	if !ok || old == cl || old.Net.Inline {
		return false
	}
	ov, _ := s.identity(old)
	return ov != vhost
}
