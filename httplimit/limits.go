// Package httplimit holds the limits every HTTP listener of Junction (the
// AWS gateway, the management API, Prometheus metrics, MQTT over
// WebSocket) applies to its clients: header size, the time to send a
// request, the time a keep-alive connection may idle, and the number of
// connections at once.
package httplimit

import (
	"net/http"
	"time"
)

// Limits bounds what an HTTP client may make a server hold. The zero value
// of a field means its default.
type Limits struct {
	// MaxHeaderBytes bounds a request's line and headers; past it the
	// client gets 431 Request Header Fields Too Large. Default 64 KiB.
	MaxHeaderBytes int
	// ReadTimeout bounds the time to read a request, headers and body, so
	// that a client sending slowly (slowloris) cannot hold a connection.
	// Default 30 s.
	ReadTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection. Default 2 min.
	IdleTimeout time.Duration
}

// Defaults.
const (
	DefaultMaxHeaderBytes = 64 << 10
	DefaultReadTimeout    = 30 * time.Second
	DefaultIdleTimeout    = 2 * time.Minute
)

// WithDefaults returns l with zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	return l
}

// Apply sets the limits on hs. net/http answers 431 past MaxHeaderBytes
// (plus its 4 KiB allowance) and closes a connection whose request is not
// read within ReadTimeout. A handler that runs longer than ReadTimeout
// (a long poll) must clear the read deadline once it has read the body
// (see ClearReadDeadline): net/http cancels the request's context when the
// deadline passes during a handler.
func (l Limits) Apply(hs *http.Server) {
	l = l.WithDefaults()
	hs.MaxHeaderBytes = l.MaxHeaderBytes
	hs.ReadHeaderTimeout = l.ReadTimeout
	hs.ReadTimeout = l.ReadTimeout
	hs.IdleTimeout = l.IdleTimeout
}

// ClearReadDeadline lifts the request's read deadline once its body has
// been read, for handlers that may run longer than ReadTimeout.
func ClearReadDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
}
