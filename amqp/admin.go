package amqp

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// ErrNoConnection is returned by CloseConnection when no open connection
// has the name.
var ErrNoConnection = errors.New("amqp: no such connection")

// ConnStats describes an open connection as the management API shows it
// (RabbitMQ's /api/connections).
type ConnStats struct {
	ConnInfo                       // ID, Name ("127.0.0.1:5555 -> 127.0.0.1:5672"), Remote
	Local            net.Addr      // the listener's side of the socket
	User             string        // the authenticated user
	Vhost            string        // the vhost opened
	AuthMechanism    string        // "PLAIN", "AMQPLAIN" or "EXTERNAL"
	ClientProperties message.Table // as the client sent them in connection.start-ok
	FrameMax         uint32        // negotiated
	ChannelMax       uint16        // negotiated
	Heartbeat        time.Duration // negotiated; 0 = none
	ConnectedAt      time.Time     // when the socket was accepted
	TLS              bool          // amqps
	Channels         int           // open channels
	State            string        // "running", or "closing" once connection.close is sent
	RecvOct, SendOct uint64        // bytes read from and written to the socket
}

// connMeta is what the handshake learned; set once, read by the
// management API.
type connMeta struct {
	user, vhost, mechanism string
	props                  message.Table
	frameMax               uint32
	chanMax                uint16
	heartbeat              time.Duration
}

// Connections returns the open connections (handshake complete), oldest
// first.
func (s *Server) Connections() []ConnStats {
	conns := s.openConns()
	out := make([]ConnStats, 0, len(conns))
	for _, c := range conns {
		if st, ok := c.stats(); ok {
			out = append(out, st)
		}
	}
	return out
}

// Connection returns the open connection called name.
func (s *Server) Connection(name string) (ConnStats, bool) {
	c := s.find(name)
	if c == nil {
		return ConnStats{}, false
	}
	return c.stats()
}

// CloseConnection closes the open connection called name with
// connection.close 320 CONNECTION_FORCED and reason as its text, as
// RabbitMQ's management API and rabbitmqctl close_connection do. It
// returns ErrNoConnection when there is none.
func (s *Server) CloseConnection(name, reason string) error {
	c := s.find(name)
	if c == nil {
		return ErrNoConnection
	}
	c.log().Info("closing connection on request", "reason", reason)
	c.closeConn(hardErr(amqp091.ConnectionForced, "%s", reason))
	return nil
}

// find returns the open connection called name, or nil.
func (s *Server) find(name string) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.name == name && c.meta.Load() != nil {
			return c
		}
	}
	return nil
}

// stats snapshots the connection; ok is false before connection.open.
func (c *conn) stats() (ConnStats, bool) {
	m := c.meta.Load()
	if m == nil {
		return ConnStats{}, false
	}
	c.wmu.Lock()
	channels := len(c.channels)
	c.wmu.Unlock()
	state := "running"
	if c.closeSent.Load() {
		state = "closing"
	}
	_, isTLS := c.nc.(*tls.Conn)
	return ConnStats{
		ConnInfo: ConnInfo{ID: c.id, Name: c.name, Remote: c.nc.RemoteAddr()},
		Local:    c.nc.LocalAddr(),
		User:     m.user, Vhost: m.vhost, AuthMechanism: m.mechanism,
		ClientProperties: m.props,
		FrameMax:         m.frameMax, ChannelMax: m.chanMax, Heartbeat: m.heartbeat,
		ConnectedAt: c.connectedAt, TLS: isTLS,
		Channels: channels, State: state,
		RecvOct: c.recvOct.Load(), SendOct: c.sendOct.Load(),
	}, true
}

// publishMeta makes the connection visible to the management API once
// connection.open succeeded.
func (c *conn) publishMeta() {
	c.meta.Store(&connMeta{
		user: c.user, vhost: c.vhostName(), mechanism: c.mechanism, props: c.props,
		frameMax: c.frameMax, chanMax: c.chanMax, heartbeat: c.heartbeat(),
	})
}
