package mqtt_test

import (
	"encoding/json"
	"testing"

	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
	"github.com/junctionmq/junction/persist"
)

// TestPendingCopiesRestored checks the start-up side of durable copies: a
// pending copy left by a crash becomes an in-flight message of its session,
// a copy whose in-flight record was also written is not delivered twice,
// and no pending copy is left afterwards.
func TestPendingCopiesRestored(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	sub, err := dial3(t, tb.addr, "pc-sub", "guest", "guest", false, nil)
	require.NoError(t, err)
	wait(t, sub.Subscribe("pc/t", 1, nil))
	sub.Disconnect(0)
	pub, err := dial3(t, tb.addr, "pc-pub", "guest", "guest", true, nil)
	require.NoError(t, err)
	wait(t, pub.Publish("pc/t", 1, false, "queued"))
	tb.close()

	// Simulate a crash that kept both the in-flight record of "queued" and
	// its pending copy, plus a pending copy whose record was lost.
	st, err := persist.Open(tb.dir, persist.Options{GCInterval: -1})
	require.NoError(t, err)
	var inflightKey string
	var rec map[string]any
	require.NoError(t, st.States("mqtt/inflight", func(k string, v []byte) error {
		inflightKey = k
		return json.Unmarshal(v, &rec)
	}))
	require.NotEmpty(t, inflightKey)
	rec["pending"] = "pc-sub\x00dup"
	b, _ := json.Marshal(rec)
	require.NoError(t, st.PutState("mqtt/inflight", inflightKey, b))
	for key, payload := range map[string]string{"pc-sub\x00dup": "queued", "pc-sub\x00lost": "lost"} {
		m := storage.Message{ID: key, T: storage.InflightKey, Client: "pc-sub", Origin: "pc-pub",
			TopicName: "pc/t", Payload: []byte(payload),
			FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}}
		v, _ := m.MarshalBinary()
		require.NoError(t, st.PutState("mqtt/pending", key, v))
	}
	require.NoError(t, st.Close())
	tb.open()

	in := &inbox{}
	_, err = dial3(t, tb.addr, "pc-sub", "guest", "guest", false, in.on3)
	require.NoError(t, err)
	got := in.wait3(t, 2)
	payloads := map[string]int{}
	for _, m := range got {
		payloads[string(m.Payload())]++
	}
	require.Equal(t, map[string]int{"queued": 1, "lost": 1}, payloads)

	// The marker proves nothing else was queued; the copies are gone.
	p2, err := dial3(t, tb.addr, "pc-pub2", "guest", "guest", true, nil)
	require.NoError(t, err)
	wait(t, p2.Publish("pc/t", 1, false, "marker"))
	in.wait3(t, 3)
	require.Equal(t, 3, in.len())
	eventually(t, func() bool {
		n := 0
		_ = tb.st.States("mqtt/pending", func(string, []byte) error { n++; return nil })
		return n == 0
	})
}
