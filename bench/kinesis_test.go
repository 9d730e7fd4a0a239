package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/awsgw"
	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/persist"
)

// startGateway runs a broker with the AWS gateway on 127.0.0.1:0, with
// SigV4 verified (the bench signs with the guest key pair) and Kinesis's
// throughput limits off, and returns its endpoint.
func startGateway(t *testing.T) string {
	t.Helper()
	b := openCore(t)
	srv, err := awsgw.New(b, awsgw.Config{KinesisNoLimits: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.ErrorIs(t, <-served, http.ErrServerClosed)
	})
	return "http://" + ln.Addr().String()
}

// openCore opens a broker core on an in-memory store, closed when t ends
// (after the cleanups registered later, the servers on top of it).
func openCore(t *testing.T) *core.Broker {
	t.Helper()
	st, err := persist.Open("", persist.Options{InMemory: true, GCInterval: -1})
	require.NoError(t, err)
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(t.TempDir(), "auth.key")}})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = b.Close()
		_ = st.Close()
	})
	return b
}

// TestKinesisClients runs the Kinesis scenario with both load clients
// against a real gateway: records are put, read back to the last one
// (none lost, none twice) and timed.
func TestKinesisClients(t *testing.T) {
	url := startGateway(t)
	for _, client := range []string{KinesisNative, KinesisSDK} {
		t.Run(client, func(t *testing.T) {
			res, err := RunKinesis(t.Context(), KinesisConfig{Endpoint: url, Client: client, Shards: 2,
				Batch: 50, Size: 100, Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond})
			require.NoError(t, err)
			assert.Equal(t, client, res.Client)
			assert.Equal(t, "kinesis-"+client+"-2shard-p2-b50-100B", res.Scenario)
			assert.Positive(t, res.Published)
			require.NotNil(t, res.Lost, res.Note)
			assert.Zero(t, *res.Lost, res.Note)
			assert.Zero(t, res.Duplicates, res.Note)
			assert.Positive(t, res.LatencyMaxMs)
			assert.InDelta(t, float64(res.Published)*100/(1<<20)/0.5, res.PublishMiBps, 1e-9)
		})
	}
}

// TestKinesisNativeScan checks the native client's reading of answers
// against what json.Marshal and kinesalite write.
func TestKinesisNativeScan(t *testing.T) {
	n, ok := jsonInt([]byte(`{"FailedRecordCount":12,"Records":[]}`), `"FailedRecordCount":`)
	assert.True(t, ok)
	assert.EqualValues(t, 12, n)
	_, ok = jsonInt([]byte(`{"Records":[]}`), `"FailedRecordCount":`)
	assert.False(t, ok)
	s, ok := jsonString([]byte(`{"Records":[],"NextShardIterator":"AAA/b+c=","MillisBehindLatest":0}`), `"NextShardIterator":"`)
	assert.True(t, ok)
	assert.Equal(t, "AAA/b+c=", s)
}
