package mqtt_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

// sysValues collects the latest value of each $SYS topic.
type sysValues struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *sysValues) on3(_ paho3.Client, m paho3.Message) {
	s.mu.Lock()
	s.m[m.Topic()] = string(m.Payload())
	s.mu.Unlock()
}

func (s *sysValues) get(topic string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[topic]
	return v, ok
}

func (s *sysValues) int(t *testing.T, topic string) int64 {
	v, ok := s.get(topic)
	require.True(t, ok, topic)
	n, err := strconv.ParseInt(strings.TrimSuffix(v, " seconds"), 10, 64)
	require.NoError(t, err, topic)
	return n
}

// TestSysTopics checks the $SYS topics under Mosquitto's names: Junction's
// version, real figures, retained, refreshed every SysInterval; and that
// Stats (the management API's and the metrics' source) agrees.
func TestSysTopics(t *testing.T) {
	tb := startBroker(t, mqtt.Config{Version: "9.8.7-test", SysInterval: time.Second})
	pub, err := dial3(t, tb.addr, "sys-pub", "guest", "guest", true, nil)
	require.NoError(t, err)
	wait(t, pub.Subscribe("x/a", 1, nil))
	wait(t, pub.Publish("x/r1", 1, true, "kept"))
	wait(t, pub.Publish("x/a", 1, false, "m"))

	sv := &sysValues{m: map[string]string{}}
	sub, err := dial3(t, tb.addr, "sys-sub", "guest", "guest", true, sv.on3)
	require.NoError(t, err)
	wait(t, sub.Subscribe("$SYS/#", 0, nil))
	// Retained: the values are there at once; then they are refreshed.
	eventually(t, func() bool { _, ok := sv.get("$SYS/broker/version"); return ok })
	v, _ := sv.get("$SYS/broker/version")
	require.Equal(t, "9.8.7-test", v)
	eventually(t, func() bool {
		n, ok := sv.get("$SYS/broker/clients/connected")
		return ok && n == "2"
	})
	eventually(t, func() bool { n, _ := sv.get("$SYS/broker/subscriptions/count"); return n == "2" })
	// One publication is spread over several messages: wait for each value.
	for topic, least := range map[string]int64{
		"$SYS/broker/clients/total": 2, "$SYS/broker/messages/received": 2, "$SYS/broker/messages/sent": 1,
		"$SYS/broker/retained messages/count": 1, "$SYS/broker/load/bytes/received": 1,
		"$SYS/broker/load/bytes/sent": 1,
	} {
		eventually(t, func() bool { return sv.int(t, topic) >= least })
	}
	up, _ := sv.get("$SYS/broker/uptime")
	require.True(t, strings.HasSuffix(up, " seconds"), up)

	st := tb.srv.Stats()
	require.EqualValues(t, 2, st.Connected)
	require.EqualValues(t, 2, st.Subscriptions)
	// $SYS publishes are not counted as received messages.
	require.EqualValues(t, 2, st.MessagesIn)

	// A refresh: a third client shows up in the next publication.
	_, err = dial3(t, tb.addr, "sys-3", "guest", "guest", true, nil)
	require.NoError(t, err)
	eventually(t, func() bool { n, _ := sv.get("$SYS/broker/clients/connected"); return n == "3" })
}

// TestSysNotPersisted checks that $SYS values are not stored as retained
// messages: after a restart only the user's retained message is restored.
func TestSysNotPersisted(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	c, err := dial3(t, tb.addr, "sysp", "guest", "guest", true, nil)
	require.NoError(t, err)
	wait(t, c.Publish("keep/me", 1, true, "v"))
	c.Disconnect(0)
	tb.restart()
	sv := &sysValues{m: map[string]string{}}
	sub, err := dial3(t, tb.addr, "sysp2", "guest", "guest", true, sv.on3)
	require.NoError(t, err)
	wait(t, sub.Subscribe("#", 0, nil))
	eventually(t, func() bool { _, ok := sv.get("keep/me"); return ok })
	sv.mu.Lock()
	defer sv.mu.Unlock()
	for topic := range sv.m {
		require.False(t, strings.HasPrefix(topic, "$SYS"), topic)
	}
}
