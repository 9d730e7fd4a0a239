package mqtt

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gorilla/websocket"
)

// ServeWebSocket accepts MQTT over WebSocket on ln at Config.WebSocketPath
// (default /ws, subprotocol "mqtt"), until Shutdown. Browsers' upgrade
// requests must come from the same host or from an origin in
// Config.AllowedOrigins (mochi's own listener accepts any origin). Wrap ln
// with tls.NewListener for wss.
func (s *Server) ServeWebSocket(ln net.Listener) error {
	id, err := s.register(ln, "ws")
	if err != nil {
		ln.Close()
		return err
	}
	defer s.unregister(id)
	up := &websocket.Upgrader{
		Subprotocols:    []string{"mqtt"},
		CheckOrigin:     s.checkOrigin,
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
	}
	mux := http.NewServeMux()
	mux.HandleFunc(s.cfg.WebSocketPath, func(w http.ResponseWriter, r *http.Request) {
		s.serveWebSocket(id, up, w, r)
	})
	hs := &http.Server{Handler: mux}
	s.cfg.HTTP.Apply(hs) // the upgrade's hijack clears the read deadline
	s.log.Info("mqtt websocket listening", "listener", id, "addr", ln.Addr().String(), "path", s.cfg.WebSocketPath)
	err = hs.Serve(ln)
	if s.closing.Load() || errors.Is(err, http.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

func (s *Server) serveWebSocket(id string, up *websocket.Upgrader, w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.leave()
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered
	}
	defer c.Close()
	ended := make(chan struct{}) // the HTTP handler lasts as long as the connection
	s.establish(id, &wsConn{Conn: c.NetConn(), c: c, remote: c.RemoteAddr()}, func() { close(ended) })
	<-ended
}

// checkOrigin allows requests without an Origin header, same-host origins
// and the configured ones.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || slices.Contains(s.cfg.AllowedOrigins, "*") || slices.Contains(s.cfg.AllowedOrigins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// wsConn is a WebSocket connection as a net.Conn carrying MQTT packets in
// binary messages (MQTT 5 6.0: a message may hold several packets or part
// of one). Deadlines act on the underlying connection.
type wsConn struct {
	net.Conn
	c      *websocket.Conn
	r      io.Reader // the current message, nil between messages
	remote net.Addr
}

// errTextMessage means a WebSocket client sent a text frame [MQTT-6.0.0-1].
var errTextMessage = errors.New("mqtt: websocket text message")

// Read reads from the current binary message, moving to the next one when
// it is exhausted.
func (ws *wsConn) Read(p []byte) (int, error) {
	for {
		if ws.r == nil {
			op, r, err := ws.c.NextReader()
			if err != nil {
				return 0, err
			}
			if op != websocket.BinaryMessage {
				return 0, errTextMessage
			}
			ws.r = r
		}
		n, err := ws.r.Read(p)
		if errors.Is(err, io.EOF) {
			ws.r = nil
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// Write sends p as one binary message (mochi writes under its client lock,
// so there is one writer at a time).
func (ws *wsConn) Write(p []byte) (int, error) {
	if err := ws.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close closes the connection.
func (ws *wsConn) Close() error { return ws.c.Close() }
