package bench

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

// startFakeBroker starts a NullAMQP on a free loopback port for t.
func startFakeBroker(t *testing.T) *NullAMQP {
	t.Helper()
	b, err := ListenNullAMQP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestNullAMQPDurable publishes with confirms to a durable NullAMQP and
// checks that each confirm comes only once its publishes are in the log
// file, in order, and that the log was synced.
func TestNullAMQPDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "null.log")
	b, err := ListenNullAMQPDurable("127.0.0.1:0", path)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	conn, err := amqp.Dial(b.uri())
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 100))
	const n = 50
	for i := 1; i <= n; i++ {
		require.NoError(t, ch.PublishWithContext(t.Context(), "", "q", false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, Body: fmt.Appendf(nil, "message %d", i)}))
	}
	for i := 1; i <= n; i++ {
		var c amqp.Confirmation
		select {
		case c = <-confirms:
		case <-time.After(30 * time.Second):
			t.Fatalf("confirm %d never came", i)
		}
		require.True(t, c.Ack)
		require.Equal(t, uint64(i), c.DeliveryTag)
		logged := readNullLog(t, path)
		require.GreaterOrEqual(t, len(logged), i, "confirm %d came before its publish was logged", i)
		for j, body := range logged[:i] {
			require.Equal(t, fmt.Sprintf("message %d", j+1), body)
		}
	}
	require.Positive(t, b.Syncs())
}

// readNullLog reads the bodies a durable NullAMQP logged, in order.
func readNullLog(t *testing.T, path string) []string {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var bodies []string
	for len(data) >= 12 && binary.BigEndian.Uint64(data) != 0 {
		size := int(binary.BigEndian.Uint32(data[8:]))
		require.GreaterOrEqual(t, len(data), 12+size)
		bodies = append(bodies, string(data[12:12+size]))
		data = data[12+size:]
	}
	return bodies
}
