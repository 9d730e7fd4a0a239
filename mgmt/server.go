// Package mgmt is the start of Junction's management HTTP API, shaped as
// RabbitMQ's management plugin (/api/...): basic auth against the core's
// user store, JSON as RabbitMQ writes it. For now it serves what
// amqp091-go's recovery tests call: listing AMQP connections and closing
// one.
package mgmt

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
)

// Server is the management HTTP server.
type Server struct {
	users *auth.Store
	amqp  *amqp.Server
	log   *slog.Logger
	http  *http.Server
}

// New returns a management server for the broker b and its AMQP face
// amqpSrv (nil when AMQP is off: no connections are listed).
func New(b *core.Broker, amqpSrv *amqp.Server, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{users: b.Users(), amqp: amqpSrv, log: log.With("face", "mgmt")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/connections", s.auth(s.listConnections))
	mux.HandleFunc("GET /api/connections/{$}", s.auth(s.listConnections))
	mux.HandleFunc("GET /api/connections/{name}", s.auth(s.getConnection))
	mux.HandleFunc("DELETE /api/connections/{name}", s.auth(s.deleteConnection))
	mux.HandleFunc("/api/", s.auth(s.notFound))
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s
}

// Serve serves HTTP on ln until Shutdown; it then returns
// http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error { return s.http.Serve(ln) }

// Shutdown stops the listeners and waits for requests in flight until ctx
// ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// apiError is RabbitMQ's error body: {"error":"...","reason":"..."}.
type apiError struct {
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

// writeJSON writes v with status code.
func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encoding response", "err", err)
		code, body = http.StatusInternalServerError, []byte(`{"error":"internal_server_error","reason":"encoding"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, _ *auth.User) {
	s.writeJSON(w, http.StatusNotFound, apiError{Error: "Object Not Found", Reason: "Not Found"})
}

// connName is the {name} of a connection path, unescaped by the mux.
func connName(r *http.Request) string { return r.PathValue("name") }

// notAuthorized writes RabbitMQ's 401 body.
func (s *Server) notAuthorized(w http.ResponseWriter, reason string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="RabbitMQ Management"`)
	s.writeJSON(w, http.StatusUnauthorized, apiError{Error: "not_authorized", Reason: reason})
}
