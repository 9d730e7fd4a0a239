package mqtt

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tcpPair returns the two ends of a loopback TCP connection: the server's
// (wrapped as the face wraps it) and the client's.
func tcpPair(t *testing.T) (*clientConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server, err := ln.Accept()
	require.NoError(t, err)
	c := newClientConn(server)
	t.Cleanup(func() { _ = c.Close(); _ = client.Close() })
	return c, client
}

// TestWriteViaHeldUntilPublisherFlushes: packets a publisher's read loop
// takes for a subscriber are held until the publisher flushes (before its
// next read), then written in order in one go; a connection that is not a
// plain TCP socket takes none.
func TestWriteViaHeldUntilPublisherFlushes(t *testing.T) {
	pub, _ := tcpPair(t)
	sub, subClient := tcpPair(t)
	p1 := []byte{0x30, 0x03, 0x00, 0x01, 'a'}
	p2 := []byte{0x30, 0x03, 0x00, 0x01, 'b'}
	require.True(t, pub.holdFor(sub, p1))
	require.True(t, pub.holdFor(sub, p2))
	sub.mu.Lock()
	require.Equal(t, append(append([]byte(nil), p1...), p2...), sub.pending, "held, not written")
	sub.mu.Unlock()
	require.Len(t, pub.via, 1, "a subscriber is remembered once per flush")

	pub.flushVia()
	got := make([]byte, len(p1)+len(p2))
	_, err := io.ReadFull(subClient, got)
	require.NoError(t, err)
	require.Equal(t, append(append([]byte(nil), p1...), p2...), got)
	require.Empty(t, pub.via)

	a, b := net.Pipe()
	defer b.Close()
	piped := newClientConn(a)
	defer piped.Close()
	require.False(t, pub.holdFor(piped, p1), "not a TCP socket: the write queue takes it")
}

// TestWriteViaSlowSubscriberNeverBlocksPublisher: a subscriber that does
// not read fills its socket; the publisher's flushes never wait (the rest is
// written by a goroutine of its own), new packets then go to the write queue
// (holdFor refuses), and once the subscriber reads, it gets every byte in
// order, followed by what its own writer wrote after.
func TestWriteViaSlowSubscriberNeverBlocksPublisher(t *testing.T) {
	pub, _ := tcpPair(t)
	sub, subClient := tcpPair(t)
	chunk := func(i int) []byte {
		b := bytes.Repeat([]byte{byte(i)}, 1000)
		b[0], b[1] = 0x30, byte(i>>8) // numbered chunks
		return b
	}
	var want []byte
	refused := false
	for i := 0; i < 100_000 && !refused; i++ {
		b := chunk(i)
		if !pub.holdFor(sub, b) {
			refused = true
			break
		}
		want = append(want, b...)
		pub.flushVia() // would block here if it waited for the subscriber
	}
	require.True(t, refused, "a full socket turns the publisher away")

	// The subscriber's own writer (mochi's write queue) writes after what
	// was held back.
	last := []byte{0x30, 0x03, 0x00, 0x01, 'z'}
	written := make(chan error, 1)
	go func() { _, err := sub.Write(last); written <- err }()
	want = append(want, last...)

	got := make([]byte, len(want))
	_, err := io.ReadFull(subClient, got)
	require.NoError(t, err)
	require.NoError(t, <-written)
	require.True(t, bytes.Equal(want, got), "bytes out of order")
	// (flushBlocking may still hold the lock for a moment.)
	deadline := time.Now().Add(10 * time.Second)
	for !pub.holdFor(sub, last) {
		require.True(t, time.Now().Before(deadline), "a drained subscriber takes packets again")
		time.Sleep(time.Millisecond)
	}
}
