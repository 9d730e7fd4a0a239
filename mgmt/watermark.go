package mgmt

import (
	"net/http"

	"github.com/junctionmq/junction/core/auth"
)

// Watermark reads and changes the memory high watermark at run time: what
// rabbitmqctl set_vm_memory_high_watermark does on a RabbitMQ node.
type Watermark struct {
	Get func() uint64      // the watermark in bytes (0: no memory alarm)
	Set func(bytes uint64) // applies a new one and rechecks the alarm
	RAM func() uint64      // the machine's RAM, for fractions (0: unknown)
}

// WithMemoryWatermark lets administrators read and change the memory high
// watermark (GET and PUT /api/junction/memory-high-watermark).
func WithMemoryWatermark(w Watermark) Option { return func(o *options) { o.watermark = &w } }

// watermarkRoutes registers Junction's watermark endpoint.
func (s *Server) watermarkRoutes(r router) {
	r.handle("GET /api/junction/memory-high-watermark", s.getWatermark)
	r.handle("PUT /api/junction/memory-high-watermark", s.putWatermark)
}

// watermarkJSON is the watermark: absolute bytes, and the fraction of RAM
// it is when RAM is known.
type watermarkJSON struct {
	Absolute uint64   `json:"absolute"`
	Fraction *float64 `json:"fraction,omitempty"`
}

// watermarkBody sets the watermark: a fraction of RAM (RabbitMQ's
// vm_memory_high_watermark) or an absolute size in bytes.
type watermarkBody struct {
	Fraction *float64 `json:"fraction"`
	Absolute *uint64  `json:"absolute"`
}

func (s *Server) watermarkState() watermarkJSON {
	out := watermarkJSON{Absolute: s.opts.watermark.Get()}
	if ram := s.opts.watermark.RAM(); ram > 0 {
		f := float64(out.Absolute) / float64(ram)
		out.Fraction = &f
	}
	return out
}

// getWatermark serves GET /api/junction/memory-high-watermark.
func (s *Server) getWatermark(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.watermarkAllowed(w, r, u) {
		return
	}
	s.writeJSON(w, http.StatusOK, s.watermarkState())
}

// putWatermark serves PUT /api/junction/memory-high-watermark with
// {"fraction": 0.4} or {"absolute": 1073741824}.
func (s *Server) putWatermark(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.watermarkAllowed(w, r, u) {
		return
	}
	var body watermarkBody
	if !s.decode(w, r, &body) {
		return
	}
	var limit uint64
	switch {
	case body.Fraction != nil && body.Absolute != nil:
		s.badRequest(w, "set fraction or absolute, not both")
		return
	case body.Absolute != nil:
		limit = *body.Absolute
	case body.Fraction != nil:
		f := *body.Fraction
		if f < 0 || f > 1 || f != f {
			s.badRequest(w, "fraction must be between 0 and 1")
			return
		}
		ram := s.opts.watermark.RAM()
		if ram == 0 && f > 0 {
			s.badRequest(w, "the machine's RAM is unknown: set absolute")
			return
		}
		limit = uint64(f * float64(ram))
		if f > 0 && limit == 0 {
			limit = 1
		}
	default:
		s.badRequest(w, "fraction or absolute must be set")
		return
	}
	s.opts.watermark.Set(limit)
	s.log.Info("memory high watermark changed", "user", u.Name, "bytes", limit)
	s.writeJSON(w, http.StatusOK, s.watermarkState())
}

// watermarkAllowed answers 401 to a non-administrator and 404 when the
// server has no watermark to show, and reports whether to go on.
func (s *Server) watermarkAllowed(w http.ResponseWriter, r *http.Request, u *auth.User) bool {
	if !s.requireAdmin(w, u) {
		return false
	}
	if s.opts.watermark == nil {
		s.notFound(w, r, u)
		return false
	}
	return true
}
