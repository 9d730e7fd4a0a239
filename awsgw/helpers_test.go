package awsgw

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/persist"
)

// testEnv is a broker with a gateway on 127.0.0.1:0.
type testEnv struct {
	b   *core.Broker
	srv *Server
	url string
}

func newEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	st, err := persist.Open("", persist.Options{InMemory: true, GCInterval: -1})
	require.NoError(t, err)
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(t.TempDir(), "auth.key")}})
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(b, cfg, log)
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
		_ = b.Close()
		_ = st.Close()
	})
	return &testEnv{b: b, srv: srv, url: "http://" + ln.Addr().String()}
}

// client returns an SDK client with static credentials.
func (e *testEnv) client(t *testing.T, key, secret string) *sqs.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, secret, "")),
		config.WithRetryMaxAttempts(1))
	require.NoError(t, err)
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(e.url) })
}

// sdkEnv is the common case: a gateway and a test/test client.
func sdkEnv(t *testing.T) (*testEnv, *sqs.Client) {
	e := newEnv(t, Config{})
	return e, e.client(t, "test", "test")
}

// apiErr asserts err is an AWS API error with the code, message and HTTP
// status given ("" message: not checked).
func apiErr(t *testing.T, err error, code, msg string, status int) {
	t.Helper()
	require.Error(t, err)
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "not an API error: %v", err)
	require.Equal(t, code, ae.ErrorCode(), "code of %v", err)
	if msg != "" {
		require.Equal(t, msg, ae.ErrorMessage())
	}
	var re interface{ HTTPStatusCode() int }
	if status != 0 && errors.As(err, &re) {
		require.Equal(t, status, re.HTTPStatusCode())
	}
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ctx() context.Context { return context.Background() }
