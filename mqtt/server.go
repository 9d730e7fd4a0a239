package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"

	"github.com/junctionmq/junction/core"
)

// Server is the MQTT face: an embedded mochi-mqtt broker whose hooks
// authenticate against the core's user store, hand every publish to the core
// and persist sessions in the core's store, plus the bridge that delivers
// messages from other faces to MQTT subscribers.
type Server struct {
	b     *core.Broker
	cfg   Config
	log   *slog.Logger
	m     *mochi.Server
	face  *faceHook
	state *stateHook
	br    *bridge
	// copies makes copies for persistent sessions durable before a PUBACK.
	copies *copies

	shared sharedPicker
	subs   subsCache // copies.write's subscriber lookups
	sys    *sysPublisher
	// slots counts the connections holding one of Config.MaxConnections.
	slots atomic.Int64

	closing atomic.Bool // set once by Shutdown; read without s.mu

	// inflightRefused counts publishes refused because a subscriber's
	// in-flight window was full (Stats).
	inflightRefused atomic.Int64
	flowStats
	limitStats

	mu     sync.Mutex // guards lns, nextID, closed, active
	lns    map[string]net.Listener
	nextID int
	closed bool
	active int // connection goroutines running (see enter)
}

// New creates the MQTT face of b: it loads the persisted MQTT sessions,
// subscriptions, retained and in-flight messages and binds the subscriptions
// of restored sessions. Serve, ServeTLS and ServeWebSocket then accept
// clients; Shutdown stops everything New and they started.
func New(b *core.Broker, cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	s := &Server{b: b, cfg: cfg, log: log, lns: map[string]net.Listener{}}
	s.m = mochi.New(&mochi.Options{
		Capabilities: s.capabilities(),
		// clientConn buffers busy clients (conn.go): mochi's own
		// per-connection read buffer can be small.
		ClientNetReadBufferSize: mochiReadBuffer,
		Logger:                  log.With("component", "mochi"),
		// The face publishes $SYS itself (sys.go).
		SysTopicResendInterval: mochiSysInterval,
	})
	s.m.Info.Version = cfg.Version
	// mochi's fan-out uses the lookups copies.write caches (subcache.go).
	s.m.Options.SubscribersLookup = func(topic string) *mochi.Subscribers { return s.subs.lookup(s.m.Topics, topic) }
	// Publishers' read loops write their subscribers' packets (via.go).
	s.m.Options.WriteVia = writeVia
	s.br = newBridge(s)
	s.face = &faceHook{s: s}
	s.state = newStateHook(b.Store(), log)
	s.copies = newCopies(s, b.Store(), s.state.w)
	s.state.copies = s.copies
	s.state.clients = s.m.Clients
	if err := s.m.AddHook(s.state, nil); err != nil {
		return nil, fmt.Errorf("mqtt: storage hook: %w", err)
	}
	if err := s.m.AddHook(s.face, nil); err != nil {
		return nil, fmt.Errorf("mqtt: face hook: %w", err)
	}
	// mochi's Serve loads the store and starts its housekeeping loop; the
	// listeners are added later by Serve and friends.
	if err := s.m.Serve(); err != nil {
		s.state.close()
		return nil, fmt.Errorf("mqtt: load state: %w", err)
	}
	s.restoreExpiry()
	if err := s.restored(); err != nil {
		_ = s.m.Close()
		s.br.close()
		s.state.close()
		return nil, fmt.Errorf("mqtt: bridge: %w", err)
	}
	s.sys = newSysPublisher(s)
	s.sys.start()
	return s, nil
}

// capabilities are mochi's capabilities from the config.
func (s *Server) capabilities() *mochi.Capabilities {
	c := mochi.NewDefaultServerCapabilities()
	// The face counts connections itself (acquireSlot) to answer 0x97.
	c.MaximumClients = math.MaxInt64
	c.MaximumPacketSize = s.cfg.MaxPacketSize
	c.ReceiveMaximum = s.cfg.ReceiveMaximum
	c.MaximumInflight = s.cfg.MaxInflight
	c.TopicAliasMaximum = s.cfg.TopicAliasMaximum
	c.MaximumSessionExpiryInterval = s.cfg.MaxSessionExpiry
	c.MaximumMessageExpiryInterval = s.cfg.MaxMessageExpiry
	c.MaximumClientWritesPending = s.cfg.WritesPending
	return c
}

// Serve accepts MQTT connections (plain TCP) on ln until Shutdown. It
// returns ErrServerClosed after Shutdown, or the accept error.
func (s *Server) Serve(ln net.Listener) error {
	return s.serve(ln, "tcp")
}

// ServeTLS accepts MQTT connections over TLS on ln (MQTTS). With
// tc.ClientAuth set, client certificates are verified; with
// Config.CertLogin their common name names the user.
func (s *Server) ServeTLS(ln net.Listener, tc *tls.Config) error {
	return s.serve(tls.NewListener(ln, tc), "tls")
}

// register records a listener under a fresh id, or refuses after Shutdown.
func (s *Server) register(ln net.Listener, kind string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrServerClosed
	}
	s.nextID++
	id := fmt.Sprintf("%s-%d", kind, s.nextID)
	s.lns[id] = ln
	return id, nil
}

func (s *Server) unregister(id string) {
	s.mu.Lock()
	delete(s.lns, id)
	s.mu.Unlock()
}

func (s *Server) serve(ln net.Listener, kind string) error {
	id, err := s.register(ln, kind)
	if err != nil {
		ln.Close()
		return err
	}
	defer s.unregister(id)
	s.log.Info("mqtt listening", "listener", id, "addr", ln.Addr().String())
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("mqtt: accept: %w", err)
		}
		if !s.enter() {
			nc.Close()
			return ErrServerClosed
		}
		go s.establish(id, nc, s.leave)
	}
}

// enter counts a connection goroutine in, unless the server is closed.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.active++
	return true
}

func (s *Server) leave() {
	s.mu.Lock()
	s.active--
	s.mu.Unlock()
}

func (s *Server) activeConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// establish runs one client connection: the CONNECT and the session's
// resumption in this goroutine, the read loop in a fresh one with a small
// stack (issue 5: an idle client then costs one goroutine whose stack the
// runtime keeps small); done runs when the connection has ended.
func (s *Server) establish(listener string, nc net.Conn, done func()) {
	s.m.EstablishConnectionAsync(listener, s.clientConn(nc), func(err error) {
		s.ended(listener, nc, err)
		done()
	})
}

// clientConn wraps a new connection.
//
//go:noinline
func (s *Server) clientConn(nc net.Conn) *clientConn {
	cc := newClientConn(nc)
	cc.maxPacket = s.cfg.MaxPacketSize
	cc.release = s.releaseSlot
	cc.tooLarge = &s.tooLarge
	// mochi reads the CONNECT without a deadline, then sets the
	// keepalive's: until then, ours holds.
	_ = nc.SetReadDeadline(time.Now().Add(s.cfg.ConnectTimeout))
	return cc
}

func (s *Server) ended(listener string, nc net.Conn, err error) {
	if err != nil && !s.closing.Load() {
		s.log.Debug("mqtt connection ended", "listener", listener, "remote", nc.RemoteAddr().String(), "error", err)
	}
}

// Shutdown stops accepting, disconnects every client (server shutting down,
// 0x8B in MQTT 5), waits for their goroutines, stops the bridges and writes
// the remaining session state. It returns ctx.Err() if ctx ends first; the
// rest then finishes in the background.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.closing.Store(true)
	for _, ln := range s.lns {
		ln.Close()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		defer close(done)
		s.sys.close()
		s.drain()
		_ = s.m.Close() // stops housekeeping and the hooks
		s.br.close()
		s.state.close()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain disconnects clients until no connection goroutine is left (a client
// may be between its CONNECT and its registration in mochi's client list).
func (s *Server) drain() {
	for {
		s.disconnectAll()
		if s.activeConns() == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// disconnectAll disconnects every connected client. mochi's Close does this
// only for listeners it started itself.
func (s *Server) disconnectAll() {
	for _, cl := range s.m.Clients.GetAll() {
		if cl.Net.Inline || cl.Net.Conn == nil || cl.Closed() {
			continue
		}
		_ = s.m.DisconnectClient(cl, errServerShuttingDown)
	}
}

// HasSession reports whether the server holds a session for the client id,
// connected or not.
func (s *Server) HasSession(id string) bool {
	_, ok := s.m.Clients.Get(id)
	return ok
}

// Stats are the MQTT face's figures, as the management API, the metrics
// endpoint and the $SYS topics show them.
type Stats struct {
	Connected       int64 // clients connected now
	Sessions        int64 // sessions held, connected or not
	Subscriptions   int64 // subscriptions of every session
	Retained        int64 // retained messages ($SYS ones included)
	MessagesIn      int64 // PUBLISH packets received (from clients and the core)
	MessagesOut     int64 // PUBLISH packets sent
	BytesReceived   int64 // bytes read from clients
	BytesSent       int64 // bytes written to clients
	InflightDropped int64 // copies dropped for a full in-flight window (core messages only)
	InflightRefused int64 // publishes refused for a full in-flight window (0x97)
	// MessagesDropped counts copies mochi dropped because a subscriber's
	// outbound queue was full (a stalled subscriber, see outboundWait).
	MessagesDropped int64
	// OutboundWaits counts publishes that waited for a slow subscriber.
	OutboundWaits int64
	// InflightWaits counts QoS 1/2 publishes that waited for a connected
	// subscriber's full in-flight window (inflightWait).
	InflightWaits int64
	// Throttled counts publishes that waited for the client's rate limit.
	Throttled int64
	// ConnectionsRefused counts CONNECTs refused for Config.MaxConnections.
	ConnectionsRefused int64
	// PacketsTooLarge counts connections ended for Config.MaxPacketSize.
	PacketsTooLarge int64
}

// Stats returns the face's current figures.
func (s *Server) Stats() Stats {
	in := s.m.Info
	var sysIn int64
	if s.sys != nil {
		sysIn = s.sys.injected.Load()
	}
	return Stats{
		Connected:          atomic.LoadInt64(&in.ClientsConnected),
		Sessions:           int64(s.m.Clients.Len()),
		Subscriptions:      s.subscriptionCount(),
		Retained:           int64(s.m.Topics.Retained.Len()),
		MessagesIn:         atomic.LoadInt64(&in.MessagesReceived) - sysIn,
		MessagesOut:        atomic.LoadInt64(&in.MessagesSent),
		BytesReceived:      atomic.LoadInt64(&in.BytesReceived),
		BytesSent:          atomic.LoadInt64(&in.BytesSent),
		InflightDropped:    atomic.LoadInt64(&in.InflightDropped),
		InflightRefused:    s.inflightRefused.Load(),
		MessagesDropped:    atomic.LoadInt64(&in.MessagesDropped),
		OutboundWaits:      s.outboundWaits.Load(),
		InflightWaits:      s.inflightWaits.Load(),
		Throttled:          s.throttled.Load(),
		ConnectionsRefused: s.connsRefused.Load(),
		PacketsTooLarge:    s.tooLarge.Load(),
	}
}
