package mqtt

import (
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/persist"
)

// remoteConn is a net.Conn that claims a remote address; nothing is sent.
type remoteConn struct {
	net.Conn
	remote net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.remote }

// TestGuestLoopbackOnly checks the decision at authenticate, the function
// that makes it, with a connection claiming a non-loopback remote address:
// guest, with a password or as the anonymous default user, is refused
// (0x87) from anywhere but loopback, as in RabbitMQ.
func TestGuestLoopbackOnly(t *testing.T) {
	dir := t.TempDir()
	st, err := persist.Open(dir, persist.Options{InMemory: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(dir, "auth.key")}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	s := &Server{b: b, cfg: Config{AllowAnonymous: true}.withDefaults(),
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	a, c := net.Pipe()
	t.Cleanup(func() { a.Close(); c.Close() })
	for _, tc := range []struct {
		name       string
		remote     string
		user, pass string
		want       byte
	}{
		{"guest remote", "192.0.2.7:5000", "guest", "guest", errNotAuthorized.Code},
		{"guest ipv6 remote", "[2001:db8::1]:5000", "guest", "guest", errNotAuthorized.Code},
		{"anonymous remote", "192.0.2.7:5000", "", "", errNotAuthorized.Code},
		{"guest loopback", "127.0.0.1:5000", "guest", "guest", 0},
		{"guest ipv6 loopback", "[::1]:5000", "guest", "guest", 0},
		{"anonymous loopback", "127.0.0.1:5000", "", "", 0},
		{"bad password", "127.0.0.1:5000", "guest", "nope", errBadCredentials.Code},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remote, err := net.ResolveTCPAddr("tcp", tc.remote)
			require.NoError(t, err)
			cl := &mochi.Client{ID: "c"}
			cl.Net.Conn = remoteConn{Conn: a, remote: remote}
			var pk packets.Packet
			pk.Connect.Username, pk.Connect.Password = []byte(tc.user), []byte(tc.pass)
			require.Equal(t, tc.want, s.authenticate(cl, pk))
		})
	}
}
