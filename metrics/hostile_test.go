package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/httplimit"
	"github.com/junctionmq/junction/internal/leakcheck"
	"github.com/junctionmq/junction/metrics"
	"github.com/junctionmq/junction/persist"
)

// TestHostileScrapers checks the metrics listener's HTTP limits: oversized
// headers get 431, a slowloris request and a silent connection are cut
// off at the read timeout, scrapes keep working, nothing is left behind.
func TestHostileScrapers(t *testing.T) {
	st, err := persist.Open("", persist.Options{InMemory: true, GCInterval: -1})
	require.NoError(t, err)
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: t.TempDir() + "/auth.key"}})
	require.NoError(t, err)
	ms := metrics.New(metrics.Sources{Broker: b, Store: st,
		HTTP: httplimit.Limits{MaxHeaderBytes: 4 << 10, ReadTimeout: 300 * time.Millisecond}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go ms.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ms.Shutdown(ctx)
		_ = b.Close()
		_ = st.Close()
	})
	addr := ln.Addr().String()
	client := &http.Client{}
	scrapeOK := func() {
		resp, err := client.Get("http://" + addr + "/metrics")
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	scrapeOK()
	base := leakcheck.Take()

	raw := func(req string, trickle bool) string {
		nc, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer nc.Close()
		go func() {
			if !trickle {
				nc.Write([]byte(req))
				return
			}
			for i := range len(req) {
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
	got := raw("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("b", 16<<10)+"\r\n\r\n", false)
	assert.True(t, strings.HasPrefix(got, "HTTP/1.1 431 "), "got %.40q", got)
	scrapeOK()
	raw("GET /metrics HTTP/1.1\r\nHost: x\r\n"+strings.Repeat("X", 1000), true)
	raw("", false)
	scrapeOK()
	client.CloseIdleConnections()
	base.Settle(t, 2, 4<<20)
}
