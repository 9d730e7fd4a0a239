package main

import (
	"context"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

// junction ctl set_vm_memory_high_watermark blocks publishers of a running
// broker as rabbitmqctl's does, and lifts the block when set back.
func TestCtlSetMemoryWatermark(t *testing.T) {
	amqpURL := startAdminBroker(t)
	conn, err := rmq.Dial(amqpURL)
	require.NoError(t, err)
	defer conn.Close()
	blocked := conn.NotifyBlocked(make(chan rmq.Blocking, 4))

	out := admin(t, "ctl", "set_vm_memory_high_watermark", "absolute", "1")
	require.Equal(t, "Setting memory threshold to 1 bytes\n", out)
	// As in RabbitMQ, a connection is blocked when it publishes.
	ch, err := conn.Channel()
	require.NoError(t, err)
	go func() { _ = ch.Publish("", "nowhere", false, false, rmq.Publishing{Body: []byte("x")}) }()
	select {
	case b := <-blocked:
		require.True(t, b.Active, "connection.unblocked before connection.blocked")
		require.Equal(t, "low on memory", b.Reason)
	case <-time.After(30 * time.Second):
		t.Fatal("no connection.blocked after the watermark was lowered")
	}

	var got struct {
		Absolute uint64   `json:"absolute"`
		Fraction *float64 `json:"fraction"`
	}
	adminJSON(t, &got, "ctl", "set_vm_memory_high_watermark", "0.4")
	require.Greater(t, got.Absolute, uint64(1))
	require.NotNil(t, got.Fraction)
	require.InDelta(t, 0.4, *got.Fraction, 0.001)
	select {
	case b := <-blocked:
		require.False(t, b.Active)
	case <-time.After(30 * time.Second):
		t.Fatal("no connection.unblocked after the watermark was raised")
	}

	for _, bad := range [][]string{
		{"ctl", "set_vm_memory_high_watermark", "1.5"},
		{"ctl", "set_vm_memory_high_watermark", "absolute", "lots"},
		{"ctl", "set_vm_memory_high_watermark"},
	} {
		_, err := runApp(t, context.Background(), bad...)
		require.Error(t, err, "%v", bad)
	}
	// Only administrators may change it.
	admin(t, "declare", "user", "ops", "--user-password", "pw", "--tags", "monitoring")
	_, err = runApp(t, context.Background(), "ctl", "set_vm_memory_high_watermark", "0.1", "--user", "ops", "--password", "pw")
	require.ErrorContains(t, err, "401")
}
