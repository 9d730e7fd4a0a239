package amqp

// FlowHigh is the pending output past which no-ack consumers are held.
const FlowHigh = flowHigh

// OutPeak returns the most output pending (buffered, or being written)
// that a no-ack delivery saw on any of s's connections.
func OutPeak(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	peak := 0
	for c := range s.conns {
		c.wmu.Lock()
		peak = max(peak, c.outPeak)
		c.wmu.Unlock()
	}
	return peak
}

// FlowHeld reports whether any of s's connections holds its no-ack
// consumers.
func FlowHeld(s *Server) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.flowHeld.Load() {
			return true
		}
	}
	return false
}

// RefillHolds returns how many times the output of a batch of acks on
// s's connections waited for more acks (writer.go: holdRefill).
func RefillHolds(s *Server) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for c := range s.conns {
		n += c.refillHolds.Load()
	}
	return n
}

// AlwaysLowat makes every held refill raise SO_RCVLOWAT, whatever the
// client's segments (writer.go: lowatPays), until the test ends. Set it
// before the server starts.
func AlwaysLowat(t interface{ Cleanup(func()) }) {
	alwaysLowat = true
	t.Cleanup(func() { alwaysLowat = false })
}
