package mqtt

import (
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
		h.stored[c.ID] = struct{}{}
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
		out = append(out, s)
		return nil
	})
	return out, err
}

// StoredRetainedMessages loads the retained messages.
func (h *stateHook) StoredRetainedMessages() ([]storage.Message, error) {
	return h.messages(nsRetained)
}

// StoredInflightMessages loads the in-flight messages of persistent
// sessions.
func (h *stateHook) StoredInflightMessages() ([]storage.Message, error) {
	return h.messages(nsInflight)
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
