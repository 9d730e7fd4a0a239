package mqtt

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIsAck(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"puback 3.1.1", []byte{0x40, 0x02, 0x00, 0x01}, true},
		{"pubrec", []byte{0x50, 0x02, 0x00, 0x01}, true},
		{"pubrel", []byte{0x62, 0x02, 0x00, 0x01}, true},
		{"pubcomp", []byte{0x70, 0x02, 0x00, 0x01}, true},
		{"puback 5 with reason", []byte{0x40, 0x03, 0x00, 0x01, 0x10}, true},
		{"two acks", []byte{0x40, 0x02, 0x00, 0x01, 0x40, 0x02, 0x00, 0x02}, false},
		{"publish", []byte{0x30, 0x03, 0x00, 0x01, 'a'}, false},
		{"pingresp", []byte{0xd0, 0x00}, false},
		{"short", []byte{0x40}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, isAck(tc.b))
		})
	}
}

// TestClientConnHoldsAcks: acknowledgements written while the read loop is
// busy go out with the next read, in one write, and other writes are not
// held.
func TestClientConnHoldsAcks(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := newClientConn(a)
	defer c.Close()
	got := make(chan []byte, 4)
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := b.Read(buf)
			if err != nil {
				return
			}
			got <- append([]byte(nil), buf[:n]...)
		}
	}()
	ack1 := []byte{0x40, 0x02, 0x00, 0x01}
	ack2 := []byte{0x40, 0x02, 0x00, 0x02}
	_, err := c.Write(ack1)
	require.NoError(t, err)
	_, err = c.Write(ack2)
	require.NoError(t, err)
	select {
	case p := <-got:
		t.Fatalf("ack written before the next read: %x", p)
	case <-time.After(50 * time.Millisecond):
	}
	go func() { _, _ = c.Read(make([]byte, 8)) }() // flushes, then blocks
	require.Equal(t, append(append([]byte(nil), ack1...), ack2...), <-got)

	// While the read loop is inside Read, nothing is held.
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.reading
	}, time.Second, time.Millisecond)
	_, err = c.Write(ack1)
	require.NoError(t, err)
	require.Equal(t, ack1, <-got)
}
