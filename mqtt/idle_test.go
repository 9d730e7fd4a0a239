package mqtt_test

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/bench"
	"github.com/junctionmq/junction/mqtt"
)

// An idle MQTT connection costs one goroutine (its read loop; the write
// goroutine runs only while there is something to write), and the broker
// still answers on it: issue 5's idle-memory budget.
func TestIdleConnectionsOneGoroutineEach(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	const n = 50
	settle := func() int {
		// Goroutines of connections being set up end quickly: take the
		// lowest of a few readings.
		low := runtime.NumGoroutine()
		for range 20 {
			time.Sleep(10 * time.Millisecond)
			low = min(low, runtime.NumGoroutine())
		}
		return low
	}
	before := settle()
	conns := make([]net.Conn, 0, n)
	for i := range n {
		c, err := bench.DialMQTTIdle("tcp://guest:guest@"+tb.addr, "idle-"+string(rune('a'+i%26))+string(rune('a'+i/26)), 10*time.Second)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	eventually(t, func() bool { return settle()-before <= n })
	require.GreaterOrEqual(t, settle()-before, n/2, "the read loops are gone?")

	// Each still answers a PINGREQ (the writer comes and goes on demand:
	// PINGRESP is written directly, a delivery through the queue).
	for _, c := range conns[:5] {
		_, err := c.Write([]byte{0xC0, 0x00})
		require.NoError(t, err)
		var resp [2]byte
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err = c.Read(resp[:])
		require.NoError(t, err)
		require.Equal(t, [2]byte{0xD0, 0x00}, resp)
	}
}
