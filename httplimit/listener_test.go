package httplimit

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLimitListener checks that connections past the limit are answered
// by refuse and closed, that closing an accepted one frees its place, and
// that a flood of refusals holds at most maxRefusing goroutines.
func TestLimitListener(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := LimitListener(raw, 1, func(c net.Conn) { io.WriteString(c, "busy") })
	defer ln.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", raw.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	first := dial()
	server := <-accepted

	second := dial()
	second.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(second)
	require.NoError(t, err)
	require.Equal(t, "busy", string(got))

	// A flood: never more than maxRefusing being answered; the rest are
	// closed at once. Every one of them ends.
	flood := make([]net.Conn, 3*maxRefusing)
	for i := range flood {
		flood[i] = dial()
	}
	l := ln.(*limitListener)
	for _, c := range flood {
		l.mu.Lock()
		require.LessOrEqual(t, l.refusing, maxRefusing)
		l.mu.Unlock()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := io.ReadAll(c)
		require.NoError(t, err)
	}

	require.NoError(t, server.Close())
	first.Close()
	third := dial()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(30 * time.Second):
		t.Fatal("a closed connection did not free its place")
	}
	third.Close()
}
