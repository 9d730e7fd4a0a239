package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startGateway (kinesis_test.go) verifies SigV4 with the guest's key pair.

// TestLeanSQSAgainstGateway: the lean Query client's hand-made SigV4
// signatures pass the gateway's verification and its scanned answers
// carry every message through send, receive and delete, batched and not,
// with bodies that need escaping both ways.
func TestLeanSQSAgainstGateway(t *testing.T) {
	endpoint := startGateway(t)
	ctx := t.Context()
	l, err := newLeanSQS(endpoint, "us-east-1", 2)
	require.NoError(t, err)
	u, err := l.createQueue(ctx, "lean-test")
	require.NoError(t, err)
	require.Contains(t, u, "/lean-test")

	odd := `a&b<c>"d"'e' +%=/ é`
	require.NoError(t, l.send(ctx, u, []string{odd}))
	batch := []string{"1", "2", "3", odd, "5", "6", "7", "8", "9", "10"}
	require.NoError(t, l.send(ctx, u, batch))

	var got []string
	var handles []string
	require.Eventually(t, func() bool {
		msgs, err := l.receive(ctx, u, 10, 0)
		require.NoError(t, err)
		for _, m := range msgs {
			got = append(got, m.body)
			handles = append(handles, m.handle)
		}
		return len(got) == 11
	}, 10*time.Second, 10*time.Millisecond)
	assert.ElementsMatch(t, append([]string{odd}, batch...), got)

	require.NoError(t, l.delete(ctx, u, handles[:1]))
	require.NoError(t, l.delete(ctx, u, handles[1:]))
	// A handle deleted twice is still a success; a bogus one fails the
	// batch entry, which the client reports.
	require.NoError(t, l.delete(ctx, u, handles[:1]))
	err = l.delete(ctx, u, []string{handles[0], "bogus"})
	require.ErrorContains(t, err, "1 failed")
	err = l.send(ctx, u+"-missing", []string{"x"})
	require.ErrorContains(t, err, "HTTP 400")
	require.NoError(t, l.deleteQueue(ctx, u))
}

// TestRunSQSLean runs the SQS scenario briefly with the lean client (and
// the std Query client) against the gateway.
func TestRunSQSLean(t *testing.T) {
	endpoint := startGateway(t)
	for _, c := range []string{SQSLean, SQSStd} {
		for _, batch := range []int{1, 10} {
			cfg := SQSConfig{Endpoint: endpoint, Protocol: SQSQuery, Client: c, Clients: 2, Batch: batch,
				Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond}
			r, err := RunSQS(t.Context(), cfg)
			require.NoError(t, err, "client %s batch %d", c, batch)
			assert.Positive(t, r.Delivered, "client %s batch %d", c, batch)
			assert.Equal(t, "query-"+c, r.Client)
			for _, call := range []string{"send", "receive", "delete"} {
				assert.Contains(t, r.Note, "; "+call+" p50 ", "client %s batch %d: the note names each call's p50", c, batch)
			}
		}
	}
}
