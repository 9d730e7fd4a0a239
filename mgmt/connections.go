package mgmt

import (
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core/auth"
)

// connection is one entry of GET /api/connections, in RabbitMQ's shape
// (rabbit_mgmt_format for an AMQP 0-9-1 network connection).
type connection struct {
	AuthMechanism          string         `json:"auth_mechanism"`
	ChannelMax             uint16         `json:"channel_max"`
	Channels               int            `json:"channels"`
	ClientProperties       map[string]any `json:"client_properties"`
	ConnectedAt            int64          `json:"connected_at"` // ms since the epoch
	FrameMax               uint32         `json:"frame_max"`
	Host                   string         `json:"host"`
	Name                   string         `json:"name"`
	Node                   string         `json:"node"`
	PeerCertIssuer         *string        `json:"peer_cert_issuer"`
	PeerCertSubject        *string        `json:"peer_cert_subject"`
	PeerCertValidity       *string        `json:"peer_cert_validity"`
	PeerHost               string         `json:"peer_host"`
	PeerPort               int            `json:"peer_port"`
	Port                   int            `json:"port"`
	Protocol               string         `json:"protocol"`
	RecvOct                uint64         `json:"recv_oct"`
	SendOct                uint64         `json:"send_oct"`
	SendPend               int            `json:"send_pend"`
	SSL                    bool           `json:"ssl"`
	SSLCipher              *string        `json:"ssl_cipher"`
	SSLHash                *string        `json:"ssl_hash"`
	SSLKeyExchange         *string        `json:"ssl_key_exchange"`
	SSLProtocol            *string        `json:"ssl_protocol"`
	State                  string         `json:"state"`
	Timeout                int            `json:"timeout"` // heartbeat, seconds
	Type                   string         `json:"type"`
	User                   string         `json:"user"`
	UserProvidedName       *string        `json:"user_provided_name,omitempty"`
	UserWhoPerformedAction string         `json:"user_who_performed_action"`
	Vhost                  string         `json:"vhost"`
}

// nodeName stands in for RabbitMQ's node name (rabbit@host).
var nodeName = func() string {
	h, _ := os.Hostname()
	return "junction@" + h
}()

// formatConnection turns the AMQP face's view of a connection into
// RabbitMQ's JSON.
func formatConnection(st amqp.ConnStats) connection {
	peerHost, peerPort := hostPort(st.Remote)
	host, port := hostPort(st.Local)
	c := connection{
		AuthMechanism:    st.AuthMechanism,
		ChannelMax:       st.ChannelMax,
		Channels:         st.Channels,
		ClientProperties: tableJSON(st.ClientProperties),
		ConnectedAt:      st.ConnectedAt.UnixMilli(),
		FrameMax:         st.FrameMax,
		Host:             host, Port: port,
		Name:     st.Name,
		Node:     nodeName,
		PeerHost: peerHost, PeerPort: peerPort,
		Protocol: "AMQP 0-9-1",
		RecvOct:  st.RecvOct, SendOct: st.SendOct,
		SSL:                    st.TLS,
		State:                  st.State,
		Timeout:                int(st.Heartbeat / time.Second),
		Type:                   "network",
		User:                   st.User,
		UserWhoPerformedAction: st.User,
		Vhost:                  st.Vhost,
	}
	if v, ok := st.ClientProperties.Get("connection_name"); ok {
		if s, ok := v.(string); ok {
			c.UserProvidedName = &s
		}
	}
	return c
}

// hostPort splits an address into RabbitMQ's host and port fields.
func hostPort(a net.Addr) (string, int) {
	if a == nil {
		return "", 0
	}
	h, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String(), 0
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// connections returns the AMQP connections u may see: all of them for
// monitoring and administrator users, its own for the others.
func (s *Server) connections(u *auth.User) []connection {
	out := []connection{}
	if s.amqp == nil {
		return out
	}
	for _, st := range s.amqp.Connections() {
		if isMonitor(u) || st.User == u.Name {
			out = append(out, formatConnection(st))
		}
	}
	return out
}

// listConnections serves GET /api/connections.
func (s *Server) listConnections(w http.ResponseWriter, r *http.Request, u *auth.User) {
	s.writeJSON(w, http.StatusOK, s.connections(u))
}

// lookup finds the connection of the path for u, writing RabbitMQ's 404
// or 401 when there is none it may touch.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, u *auth.User) (amqp.ConnStats, bool) {
	var st amqp.ConnStats
	ok := false
	if s.amqp != nil {
		st, ok = s.amqp.Connection(connName(r))
	}
	if !ok {
		s.notFound(w, r, u)
		return st, false
	}
	if !mayAccess(u, st.User, r.Method) {
		s.notAuthorized(w, "User not authorised to access object")
		return st, false
	}
	return st, true
}

// getConnection serves GET /api/connections/{name}.
func (s *Server) getConnection(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if st, ok := s.lookup(w, r, u); ok {
		s.writeJSON(w, http.StatusOK, formatConnection(st))
	}
}

// defaultCloseReason is RabbitMQ's reason when X-Reason is absent.
const defaultCloseReason = "Closed via management plugin"

// deleteConnection serves DELETE /api/connections/{name}: the connection
// is closed with 320 CONNECTION_FORCED and the X-Reason header (or
// RabbitMQ's default) as its text; 204 No Content.
func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request, u *auth.User) {
	st, ok := s.lookup(w, r, u)
	if !ok {
		return
	}
	reason := r.Header.Get("X-Reason")
	if reason == "" {
		reason = defaultCloseReason
	}
	if err := s.amqp.CloseConnection(st.Name, reason); err != nil {
		s.notFound(w, r, u)
		return
	}
	s.log.Info("connection closed through the management API", "name", st.Name, "by", u.Name)
	w.WriteHeader(http.StatusNoContent)
}

// connectionRoutes registers the connection, channel and consumer
// endpoints (channels.go for the last two).
func (s *Server) connectionRoutes(r router) {
	r.list("GET /api/connections", s.listConnections)
	r.handle("GET /api/connections/{name}", s.getConnection)
	r.handle("DELETE /api/connections/{name}", s.deleteConnection)
	r.list("GET /api/connections/{name}/channels", s.listConnChannels)
	r.list("GET /api/vhosts/{vhost}/connections", s.listVhostConnections)
	r.list("GET /api/channels", s.listChannels)
	r.handle("GET /api/channels/{name}", s.getChannel)
	r.list("GET /api/vhosts/{vhost}/channels", s.listChannels)
	r.list("GET /api/consumers", s.listConsumers)
	r.list("GET /api/consumers/{vhost}", s.listConsumers)
}

// listVhostConnections serves GET /api/vhosts/{vhost}/connections.
func (s *Server) listVhostConnections(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, false)
	if !ok {
		return
	}
	out := []connection{}
	for _, c := range s.connections(u) {
		if c.Vhost == v.Name() {
			out = append(out, c)
		}
	}
	s.writeJSON(w, http.StatusOK, out)
}

// listEmpty answers a listing Junction has nothing for with [].
func (s *Server) listEmpty(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if hasVhostParam(r) {
		if _, ok := s.vhostFor(w, r, u, false); !ok {
			return
		}
	}
	s.writeJSON(w, http.StatusOK, []any{})
}
