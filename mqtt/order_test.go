package mqtt_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

// orderLog records, across the connections of one persistent session, the
// first receipt of each id: a subscription must see ids of one publisher
// for the first time in increasing order (redeliveries may repeat them).
type orderLog struct {
	mu    sync.Mutex
	seen  map[int]bool
	first []int
}

func newOrderLog() *orderLog { return &orderLog{seen: map[int]bool{}} }

func (o *orderLog) on3(_ paho3.Client, m paho3.Message) {
	id, err := strconv.Atoi(strings.TrimPrefix(string(m.Payload()), "o-"))
	if err != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.seen[id] {
		o.seen[id] = true
		o.first = append(o.first, id)
	}
}

// requireAll waits until every id in want was received, then checks the
// order of first receipts.
func (o *orderLog) requireAll(t *testing.T, want map[int]bool) {
	t.Helper()
	missing := func() int {
		o.mu.Lock()
		defer o.mu.Unlock()
		n := 0
		for id := range want {
			if !o.seen[id] {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for missing() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.Zero(t, missing(), "acknowledged messages not delivered")
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := 1; i < len(o.first); i++ {
		require.Less(t, o.first[i-1], o.first[i], "id %d first received after %d (receipt %d of %d)",
			o.first[i], o.first[i-1], i, len(o.first))
	}
}

// publishBurst publishes ids [from, to) at QoS 1 as fast as the client
// goes (many within one second) and returns those acknowledged.
func publishBurst(t *testing.T, pub paho3.Client, topic string, from, to int) map[int]bool {
	t.Helper()
	toks := make([]paho3.Token, 0, to-from)
	for i := from; i < to; i++ {
		toks = append(toks, pub.Publish(topic, 1, false, fmt.Sprintf("o-%d", i)))
	}
	acked := map[int]bool{}
	for i, tok := range toks {
		require.True(t, tok.WaitTimeout(30*time.Second), "puback timeout")
		require.NoError(t, tok.Error())
		acked[from+i] = true
	}
	return acked
}

// QoS 1 messages queued for an offline persistent session within the same
// second come back in the order they were published: on reconnection, and
// after the broker is killed with SIGKILL and restarted on its data
// directory. (mochi v2.7.9 resent them sorted by the low 16 bits of their
// creation second, an unstable sort: any order within a second.)
func TestOfflineQueueOrderAcrossKill(t *testing.T) {
	if testing.Short() {
		t.Skip("re-execs the test binary")
	}
	const n = 2000
	dir := t.TempDir()
	child, addr := startCrashChild(t, dir)

	sub, err := dial3(t, addr, "ord-sub", "guest", "guest", false, nil)
	require.NoError(t, err)
	wait(t, sub.Subscribe("ord/t", 1, nil))
	sub.Disconnect(100)

	pub, err := dial3(t, addr, "ord-pub", "guest", "guest", true, nil)
	require.NoError(t, err)

	// Reconnection, same broker.
	acked := publishBurst(t, pub, "ord/t", 0, n)
	log1 := newOrderLog()
	sub, err = dial3(t, addr, "ord-sub", "guest", "guest", false, log1.on3)
	require.NoError(t, err)
	log1.requireAll(t, acked)
	sub.Disconnect(100)

	// Kill -9 with the next burst queued, restart, reconnect.
	acked = publishBurst(t, pub, "ord/t", n, 2*n)
	pub.Disconnect(0)
	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	_ = child.Wait()
	_, addr = startCrashChild(t, dir)
	log2 := newOrderLog()
	_, err = dial3(t, addr, "ord-sub", "guest", "guest", false, log2.on3)
	require.NoError(t, err)
	log2.requireAll(t, acked)
}

// A persistent session taken over again and again by new connections while
// QoS 1 messages stream in sees every acknowledged message, each for the
// first time in publish order: the take-over moves the in-flight messages
// in order, a message queued to the old connection meanwhile follows them
// to the new one, and nothing new is written before the resent ones.
func TestTakeoverKeepsOrder(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	log := newOrderLog()
	sub, err := dial3(t, tb.addr, "ord-to", "guest", "guest", false, log.on3)
	require.NoError(t, err)
	wait(t, sub.Subscribe("ord/to", 1, nil))

	pub, err := dial3(t, tb.addr, "ord-to-pub", "guest", "guest", true, nil)
	require.NoError(t, err)
	var (
		stop   atomic.Bool
		mu     sync.Mutex
		acked  = map[int]bool{}
		pubErr error
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		window := make(chan struct {
			id  int
			tok paho3.Token
		}, 64)
		waited := make(chan struct{})
		go func() {
			defer close(waited)
			for p := range window {
				if !p.tok.WaitTimeout(30*time.Second) || p.tok.Error() != nil {
					mu.Lock()
					pubErr = fmt.Errorf("publish %d not acknowledged: %v", p.id, p.tok.Error())
					mu.Unlock()
					continue
				}
				mu.Lock()
				acked[p.id] = true
				mu.Unlock()
			}
		}()
		for i := 0; !stop.Load(); i++ {
			window <- struct {
				id  int
				tok paho3.Token
			}{i, pub.Publish("ord/to", 1, false, fmt.Sprintf("o-%d", i))}
		}
		close(window)
		<-waited
	}()

	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	for range 8 {
		before := count()
		eventually(t, func() bool { return count() >= before+200 })
		_, err := dial3(t, tb.addr, "ord-to", "guest", "guest", false, log.on3)
		require.NoError(t, err)
	}
	stop.Store(true)
	<-done
	mu.Lock()
	require.NoError(t, pubErr)
	mu.Unlock()
	log.requireAll(t, acked)
}
