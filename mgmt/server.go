// Package mgmt is Junction's management HTTP API, shaped as RabbitMQ's
// management plugin (/api/...), so that rabbitmqadmin, the rabbit-hole
// client, Terraform's RabbitMQ provider and monitoring scripts work
// unchanged: the same paths, JSON shapes, status codes and error bodies,
// basic auth against the core's user store and RabbitMQ's user tags.
//
// One file per resource: overview.go (overview, whoami, nodes), vhosts.go,
// users.go (users, permissions, topic permissions), queues.go and
// messages.go (get, purge), exchanges.go (and publish), bindings.go,
// policies.go, definitions.go, health.go (health checks, aliveness test),
// connections.go (AMQP connections, channels, consumers), faces.go
// (Junction's own: MQTT clients, SQS, SNS and Kinesis resources, per-face
// figures). The web console (package console) is served at "/" and
// "/console/". Authorisation
// (auth.go) follows rabbit_mgmt_util: administrator may do everything,
// monitoring reads everything, management sees the vhosts it has
// permissions in, policymaker manages policies there.
package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/httplimit"
	"github.com/junctionmq/junction/mgmt/console"
)

// Server is the management HTTP server.
type Server struct {
	b     *core.Broker
	users *auth.Store
	amqp  *amqp.Server
	log   *slog.Logger
	http  *http.Server
	opts  options
	start time.Time
	rates *rates // message rates (rates.go)
}

// Listener is one of the broker's bound listeners, as /api/overview and
// the port-listener health check show it.
type Listener struct {
	Protocol string // RabbitMQ's name: amqp, amqp/ssl, mqtt, mqtt/ssl, http/web-mqtt, http, http/prometheus, aws
	Addr     net.Addr
}

// Alarm is a resource alarm in effect ("memory" or "disk"), as the alarm
// health checks report it.
type Alarm struct {
	Resource string
}

// options are what New's Options set.
type options struct {
	version   string
	listeners func() []Listener
	alarms    func() []Alarm
	conns     func() int // connections of the other faces (MQTT), for totals
	faces     faceSources
	watermark *Watermark // nil: the watermark endpoint answers 404
	http      httplimit.Limits

	statsInterval time.Duration // how often rates are sampled (WithStatsInterval)
}

// Option configures a Server.
type Option func(*options)

// WithVersion sets the product version shown by /api/overview.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithListeners gives the server the broker's listeners (overview,
// port-listener and protocol-listener health checks).
func WithListeners(f func() []Listener) Option { return func(o *options) { o.listeners = f } }

// WithAlarms gives the server the resource alarms in effect. Without it
// the store's disk alarm (persist.DB.DiskLow) is reported when the store
// has one.
func WithAlarms(f func() []Alarm) Option { return func(o *options) { o.alarms = f } }

// WithConnections counts the open connections of faces other than AMQP
// (MQTT clients) in the overview's object totals.
func WithConnections(f func() int) Option { return func(o *options) { o.conns = f } }

// WithHTTPLimits sets the limits on request headers and on the time to
// send a request or idle between requests (default: httplimit's).
func WithHTTPLimits(l httplimit.Limits) Option { return func(o *options) { o.http = l } }

// New returns a management server for the broker b and its AMQP face
// amqpSrv (nil when AMQP is off: no connections are listed).
func New(b *core.Broker, amqpSrv *amqp.Server, log *slog.Logger, opts ...Option) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{b: b, users: b.Users(), amqp: amqpSrv, log: log.With("face", "mgmt"), start: time.Now()}
	for _, o := range opts {
		o(&s.opts)
	}
	if s.opts.version == "" {
		s.opts.version = "dev"
	}
	s.rates = newRates(s)
	mux := http.NewServeMux()
	s.routes(mux)
	s.http = &http.Server{
		Handler:  slashSegments(mux),
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.opts.http.Apply(s.http)
	return s
}

// routes registers every endpoint; each resource file adds its own.
func (s *Server) routes(mux *http.ServeMux) {
	r := router{mux: mux, s: s}
	s.overviewRoutes(r)
	s.connectionRoutes(r)
	s.vhostRoutes(r)
	s.userRoutes(r)
	s.limitRoutes(r)
	s.queueRoutes(r)
	s.exchangeRoutes(r)
	s.bindingRoutes(r)
	s.policyRoutes(r)
	s.definitionRoutes(r)
	s.healthRoutes(r)
	s.faceRoutes(r)
	s.watermarkRoutes(r)
	mux.HandleFunc("/api/", s.auth(s.notFound))
	// The web console: static files, no credentials needed to load them;
	// the page then calls /api/... with the user's basic auth.
	mux.Handle("/", console.Handler())
}

// slashMarker stands in for a path segment that is an escaped slash
// ("%2F", the default vhost "/"): Go's ServeMux takes such a segment for a
// trailing slash and matches no wildcard to it. A vhost or queue name
// cannot contain NUL, so the marker is never a real name.
const slashMarker = "\x00/"

// slashSegments rewrites every "%2F" segment of the path into the marker
// before routing; auth turns the marker back into "/" in path values.
func slashSegments(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep := r.URL.EscapedPath()
		if strings.Contains(strings.ToLower(ep), "/%2f") {
			segs := strings.Split(ep, "/")
			for i, sg := range segs {
				if strings.EqualFold(sg, "%2F") {
					segs[i] = "%00%2F"
				}
			}
			raw := strings.Join(segs, "/")
			if p, err := url.PathUnescape(raw); err == nil {
				r.URL.RawPath, r.URL.Path = raw, p
			}
		}
		next.ServeHTTP(w, r)
	})
}

// pathWildcards are the wildcard names the routes use.
var pathWildcards = []string{"vhost", "name", "user", "source", "dest", "props", "exchange", "node", "port", "protocol"}

// restoreSlashes turns marker path values back into "/".
func restoreSlashes(r *http.Request) {
	if !strings.Contains(r.URL.Path, slashMarker) {
		return
	}
	for _, n := range pathWildcards {
		if r.PathValue(n) == slashMarker {
			r.SetPathValue(n, "/")
		}
	}
}

// router registers authenticated handlers on a mux.
type router struct {
	mux *http.ServeMux
	s   *Server
}

// handle registers h for pattern ("GET /api/users").
func (r router) handle(pattern string, h handler) { r.mux.HandleFunc(pattern, r.s.auth(h)) }

// list registers h for a listing pattern with and without the trailing
// slash, as RabbitMQ answers both ("/api/users" and "/api/users/").
func (r router) list(pattern string, h handler) {
	r.handle(pattern, h)
	r.handle(pattern+"/{$}", h)
}

// Serve serves HTTP on ln until Shutdown; it then returns
// http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.rates.start()
	return s.http.Serve(ln)
}

// Shutdown stops the listeners and waits for requests in flight until ctx
// ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.rates.stop()
	return s.http.Shutdown(ctx)
}

// ServeHTTP serves one request (for tests and embedding).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.http.Handler.ServeHTTP(w, r) }

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

// notFound writes RabbitMQ's 404 for a missing object or path.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, _ *auth.User) {
	s.writeJSON(w, http.StatusNotFound, apiError{Error: "Object Not Found", Reason: "Not Found"})
}

// connName is the {name} of a connection path, unescaped by the mux.
func connName(r *http.Request) string { return r.PathValue("name") }

// notAuthorized writes RabbitMQ's 401 body (rabbit_mgmt_util:not_authorised).
func (s *Server) notAuthorized(w http.ResponseWriter, reason string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="RabbitMQ Management"`)
	s.writeJSON(w, http.StatusUnauthorized, apiError{Error: "not_authorised", Reason: reason})
}

// badRequest writes RabbitMQ's 400 body.
func (s *Server) badRequest(w http.ResponseWriter, reason string) {
	s.writeJSON(w, http.StatusBadRequest, apiError{Error: "bad_request", Reason: reason})
}

// created answers a PUT or POST: 201 Created when it made the object, 204
// No Content when it already existed (RabbitMQ's answers).
func created(w http.ResponseWriter, isNew bool) {
	if isNew {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// fail translates a core or user store error into RabbitMQ's HTTP answer,
// in one place: missing objects 404, refusals 401, invalid requests and
// failed preconditions 400, anything else 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, core.ErrNotFound), errors.Is(err, auth.ErrNoUser), errors.Is(err, auth.ErrNoVhost),
		errors.Is(err, auth.ErrNoPolicy):
		s.writeJSON(w, http.StatusNotFound, apiError{Error: "Object Not Found", Reason: "Not Found"})
	case errors.Is(err, core.ErrAccessRefused), errors.Is(err, core.ErrLocked), errors.Is(err, auth.ErrAccessRefused),
		errors.Is(err, core.ErrNotAllowed):
		s.notAuthorized(w, err.Error())
	case errors.Is(err, core.ErrPrecondition), errors.Is(err, core.ErrInvalid), errors.Is(err, auth.ErrBadName),
		errors.Is(err, auth.ErrBadPattern), errors.Is(err, auth.ErrBadHash), errors.Is(err, auth.ErrBadPolicy),
		errors.Is(err, auth.ErrDefinitions), errors.Is(err, auth.ErrUserExists):
		s.badRequest(w, err.Error())
	default:
		s.log.Error("management request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		s.writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal_server_error", Reason: err.Error()})
	}
}

// maxBody bounds request bodies (definitions files included).
const maxBody = 64 << 20

// decode reads a JSON request body into v, writing RabbitMQ's 400 when it
// is malformed. An empty body leaves v unchanged.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		s.badRequest(w, "Invalid JSON: "+err.Error())
		return false
	}
	return true
}
