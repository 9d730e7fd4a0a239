package mgmt_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/httplimit"
	"github.com/junctionmq/junction/internal/leakcheck"
	"github.com/junctionmq/junction/mgmt"
	"github.com/junctionmq/junction/persist"
)

// startLimited runs the management API alone with the given HTTP limits
// and returns its address.
func startLimited(t *testing.T, l httplimit.Limits) string {
	t.Helper()
	st, err := persist.Open("", persist.Options{InMemory: true, GCInterval: -1})
	require.NoError(t, err)
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: t.TempDir() + "/auth.key"}})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ms := mgmt.New(b, nil, nil, mgmt.WithHTTPLimits(l))
	go ms.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ms.Shutdown(ctx)
		_ = b.Close()
		_ = st.Close()
	})
	return ln.Addr().String()
}

// apiBystander declares, lists and deletes queues through the API in a
// loop while hostile clients work on the same server.
type apiBystander struct {
	rounds atomic.Int64
	err    atomic.Value
	stop   chan struct{}
	done   chan struct{}
	client *http.Client
}

func startAPIBystander(addr string) *apiBystander {
	by := &apiBystander{stop: make(chan struct{}), done: make(chan struct{}), client: &http.Client{}}
	go func() {
		defer close(by.done)
		for i := 0; ; i++ {
			select {
			case <-by.stop:
				return
			default:
			}
			if err := by.round(addr, i); err != nil {
				by.err.CompareAndSwap(nil, err)
				return
			}
		}
	}()
	return by
}

func (by *apiBystander) round(addr string, i int) error {
	q := fmt.Sprintf("http://%s/api/queues/%%2F/by-%d", addr, i)
	for _, step := range []struct {
		method, url, body string
		want              int
	}{
		{http.MethodPut, q, `{"durable":false}`, http.StatusCreated},
		{http.MethodGet, "http://" + addr + "/api/queues", "", http.StatusOK},
		{http.MethodDelete, q, "", http.StatusNoContent},
	} {
		req, err := http.NewRequest(step.method, step.url, strings.NewReader(step.body))
		if err != nil {
			return err
		}
		req.SetBasicAuth("guest", "guest")
		resp, err := by.client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != step.want {
			return fmt.Errorf("%s %s: %d, want %d", step.method, step.url, resp.StatusCode, step.want)
		}
	}
	by.rounds.Add(1)
	return nil
}

func (by *apiBystander) check(t *testing.T) {
	t.Helper()
	start := by.rounds.Load()
	require.Eventually(t, func() bool { return by.rounds.Load() >= start+3 || by.err.Load() != nil },
		30*time.Second, 10*time.Millisecond)
	close(by.stop)
	<-by.done
	if err, _ := by.err.Load().(error); err != nil {
		t.Fatalf("the well-behaved client failed: %v", err)
	}
	by.client.CloseIdleConnections()
	t.Logf("well-behaved client: %d round trips", by.rounds.Load())
}

// send writes req on a new connection and returns what the server answers
// until it closes (or an empty string if it closes without answering).
func send(t *testing.T, addr, req string, trickle bool) string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	go func() {
		if !trickle {
			nc.Write([]byte(req))
			return
		}
		// The head at once when there is a body, the rest a byte at a time.
		from := 0
		if i := strings.Index(req, "\r\n\r\n"); i >= 0 {
			from = i + 4
			nc.Write([]byte(req[:from]))
		}
		for i := from; i < len(req); i++ {
			if _, err := nc.Write([]byte{req[i]}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(nc)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want the server to end the connection, got %v", err)
	}
	return string(got)
}

// status is the status code of a raw response, 0 for none.
func status(t *testing.T, raw string) int {
	t.Helper()
	if raw == "" {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	require.NoError(t, err)
	return resp.StatusCode
}

// TestHostileHTTPClients sends malformed, oversized and slow requests to
// the management API: each gets its answer or is cut off, a client using
// the API keeps working, and nothing is left behind.
func TestHostileHTTPClients(t *testing.T) {
	addr := startLimited(t, httplimit.Limits{MaxHeaderBytes: 4 << 10, ReadTimeout: 300 * time.Millisecond})
	by := startAPIBystander(addr)
	require.Eventually(t, func() bool { return by.rounds.Load() > 0 || by.err.Load() != nil },
		30*time.Second, 10*time.Millisecond)
	base := leakcheck.Take()
	auth := "Authorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n" // guest:guest
	put := func(path, body string) string {
		return fmt.Sprintf("PUT %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n"+
			"Connection: close\r\n\r\n%s", path, auth, len(body), body)
	}
	cases := []struct {
		name string
		req  string
		slow bool
		want []int // 0: closed without an answer
	}{
		{"oversized headers", "GET /api/overview HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 16<<10) + "\r\n\r\n",
			false, []int{http.StatusRequestHeaderFieldsTooLarge}},
		{"not HTTP", "AMQP\x00\x00\x09\x01\r\n\r\n", false, []int{http.StatusBadRequest}},
		{"deeply nested JSON", put("/api/queues/%2F/deep", strings.Repeat("[", 100000)+strings.Repeat("]", 100000)),
			false, []int{http.StatusBadRequest}},
		{"invalid UTF-8 queue name", put("/api/queues/%2F/bad%FF%FE", `{}`), false, []int{http.StatusBadRequest}},
		{"slowloris headers", "GET /api/overview HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X", 1000), true,
			[]int{0, http.StatusBadRequest}},
		{"slow body", put("/api/queues/%2F/slow", `{"durable":false,"arguments":{}}`+strings.Repeat(" ", 1000)),
			true, []int{0, http.StatusBadRequest, http.StatusRequestTimeout}},
		{"never sends", "", false, []int{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := status(t, send(t, addr, tc.req, tc.slow))
			assert.Contains(t, tc.want, got)
		})
	}
	by.check(t)
	base.Settle(t, 4, 4<<20)
}
