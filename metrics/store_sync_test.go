package metrics_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/persist"
)

// TestStoreUnsyncedBatches: over a store on disk, persistent messages
// published with confirms (durable batches) and then consumed and acked
// (removes no one waits for: written without a sync) show on /metrics as
// unsynced batches, and the deferred sync that covers the last of them
// when nothing durable follows.
func TestStoreUnsyncedBatches(t *testing.T) {
	st, err := persist.Open(t.TempDir(), persist.Options{GCInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	amqpURL, url := serve(t, openCoreOn(t, st), st)

	c, err := amqp091.Dial(amqpURL)
	require.NoError(t, err)
	defer c.Close()
	ch, err := c.Channel()
	require.NoError(t, err)
	_, err = ch.QueueDeclare("synced", true, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Confirm(false))
	const n = 20
	for i := range n {
		dc, err := ch.PublishWithDeferredConfirmWithContext(t.Context(), "", "synced", false, false,
			amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: fmt.Appendf(nil, "m%d", i)})
		require.NoError(t, err)
		ok, err := dc.WaitContext(t.Context())
		require.NoError(t, err)
		require.True(t, ok)
	}
	ds, err := ch.Consume("synced", "", false, false, false, false, nil)
	require.NoError(t, err)
	for range n {
		select {
		case d := <-ds:
			require.NoError(t, d.Ack(false))
		case <-time.After(30 * time.Second):
			t.Fatal("no delivery")
		}
	}
	require.Eventually(t, func() bool {
		fams := scrape(t, url)
		return value(fams, "junction_store_unsynced_batches_total", nil) >= 1 &&
			value(fams, "junction_store_deferred_syncs_total", nil) >= 1
	}, 30*time.Second, 20*time.Millisecond, "acks written without a sync, then synced by the store on its own")
	fams := scrape(t, url)
	require.GreaterOrEqual(t, value(fams, "junction_store_batches_total", nil), value(fams, "junction_store_unsynced_batches_total", nil))
}
