package awsgw

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestShutdownClosesIdleNewConnections: a connection that never sent a
// request (an HTTP client's spare dial) does not hold Shutdown up: net/http
// alone waits 5 s for it, longer than the test's deadline.
func TestShutdownClosesIdleNewConnections(t *testing.T) {
	e := newEnv(t, Config{AcceptAnyKey: true})
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	require.NoError(t, err)
	defer c.Close()
	require.Eventually(t, func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		return len(e.srv.fresh) == 1
	}, 5*time.Second, 10*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	require.NoError(t, e.srv.Shutdown(ctx))
}
