package mqtt_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/mqtt"
)

// TestBridgeReconnectNoDuplicate reconnects a persistent session again and
// again while the core publishes QoS 1 messages to it through the bridge,
// and checks that every message arrives and none is delivered twice beyond
// QoS 1's rules. Before mochi's patch 8, a message queued to the session
// between its joining mochi's client list and the resend of its in-flight
// window went out twice on the same connection: resent (DUP) and again
// from the outbound queue. QoS 1 still allows a message the broker wrote
// to one connection, whose PUBACK it did not see, to come again on a later
// connection, marked DUP; so a copy counts as a duplicate when it is a
// second copy on the same connection, or a first delivery (no DUP) of a
// message an earlier connection received. (Connections, not arrival
// times, order the copies: paho may run a handler of a closed connection
// after the next connection's.)
func TestBridgeReconnectNoDuplicate(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	const id, n = "rd-sub", 3000
	var mu sync.Mutex
	seen := map[string][]copyOf{}
	handler := func(conn int) paho3.MessageHandler {
		return func(_ paho3.Client, m paho3.Message) {
			mu.Lock()
			defer mu.Unlock()
			b := string(m.Payload())
			seen[b] = append(seen[b], copyOf{conn, m.Duplicate()})
		}
	}
	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	conns := 0
	dial := func() paho3.Client {
		conns++
		c, err := dial3(t, tb.addr, id, "guest", "guest", false, handler(conns))
		require.NoError(t, err)
		return c
	}
	c := dial()
	wait(t, c.Subscribe("rd/t", 1, nil))
	c.Disconnect(0)

	// The core publishes steadily while the session comes and goes.
	var published atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			m := &message.Message{Exchange: "amq.topic", RoutingKey: "rd.t",
				Body: []byte(fmt.Sprintf("m%d", i)), Origin: message.FaceAMQP}
			m.Props.Flags = message.FlagDeliveryMode
			m.Props.DeliveryMode = 2
			if _, err := tb.vhost().Publish(m, nil); err != nil {
				t.Errorf("publish: %v", err)
				return
			}
			published.Add(1)
			if i%20 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		c := dial()
		time.Sleep(2 * time.Millisecond)
		c.Disconnect(0)
	}
	dial()
	deadline := time.Now().Add(60 * time.Second)
	for received() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, n, received(), "messages received (published %d)", published.Load())

	mu.Lock()
	defer mu.Unlock()
	var twice []string
	for b, cs := range seen {
		if duplicated(cs) {
			twice = append(twice, fmt.Sprintf("%s %v", b, cs))
		}
	}
	require.Empty(t, twice, "messages delivered twice beyond QoS 1's rules ({connection DUP} per copy)")
}

// copyOf is one delivery of a message: the connection it came on (counted
// from 1) and its DUP flag.
type copyOf struct {
	conn int
	dup  bool
}

// duplicated reports whether the copies of one message break QoS 1's rules
// for a reconnecting session (TestBridgeReconnectNoDuplicate).
func duplicated(cs []copyOf) bool {
	for k, c := range cs {
		for j, o := range cs {
			if j != k && (o.conn == c.conn || (o.conn < c.conn && !c.dup)) {
				return true
			}
		}
	}
	return false
}
