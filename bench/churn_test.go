package bench

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core"
)

// startAMQP runs a Junction AMQP server on 127.0.0.1:0 and returns its URI
// and core.
func startAMQP(t *testing.T) (string, *core.Broker) {
	t.Helper()
	b := openCore(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := amqp.NewServer(amqp.NewCoreBroker(b), amqp.Config{})
	go s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, s.Close(ctx))
	})
	return "amqp://guest:guest@" + ln.Addr().String() + "/", b
}

// TestChurn runs each churn cycle with two workers against a real
// Junction: cycles complete and are timed, and nothing they created is
// left behind (no queue, no binding).
func TestChurn(t *testing.T) {
	uri, b := startAMQP(t)
	for _, what := range []string{ChurnConnection, ChurnChannel, ChurnQueue, ChurnBinding} {
		t.Run(what, func(t *testing.T) {
			r, err := RunChurn(t.Context(), ChurnConfig{URI: uri, What: what, Clients: 2,
				Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond, Broker: "junction"})
			require.NoError(t, err)
			require.Equal(t, "churn", r.Kind)
			require.Positive(t, r.OpsRate)
			require.Positive(t, r.CallP99Ms)
			require.GreaterOrEqual(t, r.CallP99Ms, r.CallP50Ms)
			require.Equal(t, "churn-"+what+"-c2", r.Scenario)
		})
	}
	// The binding workers' exclusive queues went with their connections.
	require.Eventually(t, func() bool {
		v, err := b.Vhost("/")
		return err == nil && len(v.Queues()) == 0
	}, 10*time.Second, 20*time.Millisecond, "queues left behind")
}

// TestChurnBadWhat: an unknown cycle is refused before anything runs.
func TestChurnBadWhat(t *testing.T) {
	_, err := RunChurn(t.Context(), ChurnConfig{URI: "amqp://127.0.0.1:1/", What: "exchange"})
	require.ErrorContains(t, err, `churn what "exchange"`)
}

// TestAMQPTx publishes persistent messages in transactions of 10 with
// amqp091-go against a real Junction: whole transactions are counted as
// published, and the consumer gets them.
func TestAMQPTx(t *testing.T) {
	uri, _ := startAMQP(t)
	r, err := RunAMQP(t.Context(), AMQPConfig{URI: uri, Client: ClientAMQP091, Producers: 1, Consumers: 1, Size: 16,
		Prefetch: 100, Persistent: true, Tx: 10, Duration: time.Second, Warmup: 100 * time.Millisecond})
	require.NoError(t, err)
	require.Positive(t, r.Published)
	require.Zero(t, r.Published%10, "published %d is not whole transactions", r.Published)
	require.Positive(t, r.Delivered)
	require.Contains(t, r.Scenario, "-tx10")
}

// TestAMQPTxRefused: transactions with confirms, or with the native
// client, are refused before anything runs.
func TestAMQPTxRefused(t *testing.T) {
	for _, cfg := range []AMQPConfig{
		{Client: ClientAMQP091, Tx: 10, Confirm: 10},
		{Client: ClientNative, Tx: 10},
	} {
		cfg.URI, cfg.Duration = "amqp://127.0.0.1:1/", time.Second
		_, err := RunAMQP(t.Context(), cfg)
		require.ErrorContains(t, err, "--tx")
	}
}
