package mqtt_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/mqtt"
)

// TestWriteViaOrderWithCoreMessages: QoS 1 publishes that the publisher's
// read loop writes to the subscribers (via.go), mixed with core messages
// that reach the same subscribers through their write queues, arrive
// exactly once each and in each source's order; the publisher, subscribed
// to its own topic, gets its own messages too.
func TestWriteViaOrderWithCoreMessages(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	const n, coreN = 3000, 300

	type seen struct {
		mu   sync.Mutex
		next map[string]int // source → next sequence number expected
		bad  []string
		got  int
	}
	newSeen := func() *seen { return &seen{next: map[string]int{}} }
	handler := func(s *seen) paho3.MessageHandler {
		return func(_ paho3.Client, m paho3.Message) {
			src, seq, _ := strings.Cut(string(m.Payload()), ":")
			i, _ := strconv.Atoi(seq)
			s.mu.Lock()
			defer s.mu.Unlock()
			if i != s.next[src] {
				s.bad = append(s.bad, src+": got "+seq+" want "+strconv.Itoa(s.next[src]))
			}
			s.next[src] = i + 1
			s.got++
		}
	}
	count := func(s *seen) int { s.mu.Lock(); defer s.mu.Unlock(); return s.got }

	subs := []*seen{newSeen(), newSeen(), newSeen()}
	for i, s := range subs[:2] {
		c, err := dial3(t, tb.addr, "via-sub"+strconv.Itoa(i), "guest", "guest", true, handler(s))
		require.NoError(t, err)
		wait(t, c.Subscribe("via/#", 1, nil))
	}
	pub, err := dial3(t, tb.addr, "via-pub", "guest", "guest", true, handler(subs[2]))
	require.NoError(t, err)
	wait(t, pub.Subscribe("via/#", 1, nil))

	coreDone := make(chan error, 1)
	go func() {
		for i := range coreN {
			m := &message.Message{Exchange: "amq.topic", RoutingKey: "via.core", Body: []byte("core:" + strconv.Itoa(i)), Origin: message.FaceAMQP}
			m.Props.Flags = message.FlagDeliveryMode
			m.Props.DeliveryMode = 2
			if _, err := tb.vhost().Publish(m, nil); err != nil {
				coreDone <- err
				return
			}
		}
		coreDone <- nil
	}()
	toks := make([]paho3.Token, 0, n)
	for i := range n {
		toks = append(toks, pub.Publish("via/mqtt", 1, false, "mqtt:"+strconv.Itoa(i)))
	}
	for _, tok := range toks {
		wait(t, tok)
	}
	require.NoError(t, <-coreDone)
	for _, s := range subs {
		eventually(t, func() bool { return count(s) >= n+coreN })
		s.mu.Lock()
		require.Empty(t, s.bad)
		require.Equal(t, n+coreN, s.got, "exactly once")
		s.mu.Unlock()
	}
}
