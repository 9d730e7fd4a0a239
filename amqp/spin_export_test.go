package amqp

// SpinStats reports s's busy-poll tokens (spin.go): the limit, the tokens
// taken now, the most ever taken at once, and the spins that ended with
// data.
func SpinStats(s *Server) (limit, busy, peak int, hits uint64) {
	p := s.spin
	return int(p.limit), int(p.busy.Load()), int(p.peak.Load()), p.hits.Load()
}

// SpinsBegun returns how many spins s's readers began.
func SpinsBegun(s *Server) uint64 { return s.spin.spins.Load() }
