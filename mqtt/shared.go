package mqtt

import (
	"slices"
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// sharedPicker chooses the member of each shared subscription group
// ($share/{group}/{filter}) a message goes to: round-robin over the members
// that are connected, or over all members when none is (their sessions keep
// the message until they return). mochi's default takes the first member in
// map order, online or not.
type sharedPicker struct {
	mu   sync.Mutex        // guards next
	next map[string]uint64 // group filter → messages handed out
}

// OnSelectSubscribers picks one member per shared group (MQTT 5 4.8.2):
// the pick OnPublish made when it stored the copies for persistent
// sessions, or a new one.
func (h *faceHook) OnSelectSubscribers(subs *mochi.Subscribers, pk packets.Packet) *mochi.Subscribers {
	if pick := h.s.copies.sharedPick(pk); pick != nil {
		subs.SharedSelected = pick
		return subs
	}
	h.s.selectShared(subs)
	return subs
}

// selectShared sets subs.SharedSelected to one member per shared group.
func (s *Server) selectShared(subs *mochi.Subscribers) {
	subs.SharedSelected = make(map[string]packets.Subscription, len(subs.Shared))
	for group, members := range subs.Shared {
		id, ok := s.shared.pick(group, members, s.online)
		if !ok {
			continue
		}
		sub := members[id]
		if prev, ok := subs.SharedSelected[id]; ok {
			sub = prev.Merge(sub)
		}
		subs.SharedSelected[id] = sub
	}
}

// online reports whether a client is connected.
func (s *Server) online(id string) bool {
	cl, ok := s.m.Clients.Get(id)
	return ok && cl.Net.Conn != nil && !cl.Closed()
}

// pick returns the member of group that gets the next message.
func (p *sharedPicker) pick(group string, members map[string]packets.Subscription, online func(string) bool) (string, bool) {
	if len(members) == 0 {
		return "", false
	}
	ids := make([]string, 0, len(members))
	for id := range members {
		if online(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		for id := range members {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	p.mu.Lock()
	if p.next == nil {
		p.next = map[string]uint64{}
	}
	n := p.next[group]
	p.next[group] = n + 1
	p.mu.Unlock()
	return ids[n%uint64(len(ids))], true
}
