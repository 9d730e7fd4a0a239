package mqtt

import (
	"cmp"
	"encoding/json"
	"slices"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
)

// StoredClients loads the persistent sessions.
func (h *stateHook) StoredClients() ([]storage.Client, error) {
	var out []storage.Client
	err := h.st.States(nsSession, func(key string, val []byte) error {
		var c storage.Client
		if err := c.UnmarshalBinary(val); err != nil {
			h.log.Warn("mqtt session record unreadable; skipped", "client", key, "error", err)
			return nil
		}
		out = append(out, c)
		h.loadedUsers[c.ID] = string(c.Username)
		h.stored[c.ID] = struct{}{}
		h.wills[c.ID] = mochi.Will(c.Will)
		return nil
	})
	return out, err
}

// StoredSubscriptions loads the subscriptions of persistent sessions.
func (h *stateHook) StoredSubscriptions() ([]storage.Subscription, error) {
	var out []storage.Subscription
	err := h.st.States(nsSub, func(key string, val []byte) error {
		var s storage.Subscription
		if err := s.UnmarshalBinary(val); err != nil {
			h.log.Warn("mqtt subscription record unreadable; skipped", "key", key, "error", err)
			return nil
		}
		out = append(out, h.rootSubscription(key, s))
		return nil
	})
	return out, err
}

// rootSubscription roots a subscription stored before vhost isolation
// (vhost.go) in its session's vhost, rewriting its record.
func (h *stateHook) rootSubscription(key string, s storage.Subscription) storage.Subscription {
	if userFilter(s.Filter) != s.Filter || isSys(s.Filter) || h.copies == nil {
		return s
	}
	vhost, _ := h.copies.s.splitUsername(h.loadedUsers[s.Client])
	s.Filter = rootsOf(vhost).filter(s.Filter)
	s.ID = subKey(s.Client, s.Filter)
	if h.put(nsSub, s.ID, s) {
		h.w.del(nsSub, key)
	}
	return s
}

// StoredRetainedMessages loads the retained messages. One stored before
// vhost isolation (vhost.go) is moved to the default vhost.
func (h *stateHook) StoredRetainedMessages() ([]storage.Message, error) {
	out, err := h.messages(nsRetained)
	for i, m := range out {
		if userTopic(m.TopicName) != m.TopicName || isSys(m.TopicName) || h.copies == nil {
			continue
		}
		old := m.TopicName
		m.TopicName = rootsOf(h.copies.s.cfg.DefaultVhost).topic(old)
		m.ID = m.TopicName
		if h.put(nsRetained, m.TopicName, m) {
			h.w.del(nsRetained, old)
		}
		out[i] = m
	}
	return out, err
}

// StoredInflightMessages loads the in-flight messages of persistent
// sessions, and turns the pending copies a crash left (copies.go) into
// in-flight messages of their sessions. They come in the order they were
// queued (their Seq, then creation time and packet id for records without
// one): mochi resends a session's in-flight messages in the order they were
// loaded.
func (h *stateHook) StoredInflightMessages() ([]storage.Message, error) {
	out, err := h.storedInflight()
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b ordered) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), cmp.Compare(a.m.Created, b.m.Created), cmp.Compare(a.m.PacketID, b.m.PacketID))
	})
	ms := make([]storage.Message, len(out))
	for i, o := range out {
		ms[i] = o.m
	}
	return ms, nil
}

// ordered is a loaded in-flight message and its place in its session's queue.
type ordered struct {
	m   storage.Message
	seq uint64
}

func (h *stateHook) storedInflight() ([]ordered, error) {
	var out []ordered
	linked := map[string]bool{}          // pending keys an in-flight record replaced
	used := map[string]map[uint16]bool{} // client id → packet ids in use
	err := h.st.States(nsInflight, func(key string, val []byte) error {
		var r inflightRecord
		if err := json.Unmarshal(val, &r); err != nil {
			h.log.Warn("mqtt in-flight record unreadable; skipped", "key", key, "error", err)
			return nil
		}
		if r.Pending != "" {
			linked[r.Pending] = true
		}
		if used[r.Client] == nil {
			used[r.Client] = map[uint16]bool{}
		}
		used[r.Client][r.PacketID] = true
		out = append(out, ordered{r.Message, r.Seq})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = h.st.States(nsPending, func(key string, val []byte) error {
		if m, ok := h.restorePending(key, val, linked[key], used); ok {
			out = append(out, ordered{m, pendingSeq(key)})
		}
		return nil
	})
	return out, err
}

// restorePending turns a pending copy into an in-flight message of its
// session with a free packet id: the record is written and the copy
// deleted after it. A copy whose record exists or whose session is gone is
// deleted.
func (h *stateHook) restorePending(key string, val []byte, linked bool, used map[string]map[uint16]bool) (storage.Message, bool) {
	var m storage.Message
	if err := m.UnmarshalBinary(val); err != nil {
		h.log.Warn("mqtt pending copy unreadable; skipped", "key", key, "error", err)
		return m, false
	}
	if _, ok := h.stored[m.Client]; linked || !ok {
		h.w.del(nsPending, key)
		return m, false
	}
	ids := used[m.Client]
	if ids == nil {
		ids = map[uint16]bool{}
		used[m.Client] = ids
	}
	for id := uint16(1); id != 0; id++ {
		if !ids[id] {
			ids[id] = true
			m.PacketID = id
			break
		}
	}
	if m.PacketID == 0 {
		h.log.Warn("mqtt pending copy: no free packet id; kept for the next start", "client", m.Client)
		return m, false
	}
	m.ID, m.T = inflightKey(m.Client, m.PacketID), storage.InflightKey
	b, err := inflightRecord{Message: m, Pending: key, Seq: pendingSeq(key)}.encode()
	if err != nil {
		return m, false
	}
	h.w.put(nsInflight, m.ID, b)
	h.w.del(nsPending, key)
	return m, true
}

func (h *stateHook) messages(ns string) ([]storage.Message, error) {
	var out []storage.Message
	err := h.st.States(ns, func(key string, val []byte) error {
		var m storage.Message
		if err := m.UnmarshalBinary(val); err != nil {
			h.log.Warn("mqtt message record unreadable; skipped", "ns", ns, "key", key, "error", err)
			return nil
		}
		out = append(out, m)
		return nil
	})
	return out, err
}
