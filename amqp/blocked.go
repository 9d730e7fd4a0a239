package amqp

import (
	"strings"

	"github.com/junctionmq/junction/alarm"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// Resource alarms, as rabbit_reader handles them: while the memory or
// disk alarm is on, every connection that has published at least once
// is sent connection.blocked (if its client announced the
// connection.blocked capability) and is no longer read from, so its
// next publish waits in the socket; connections that only consume keep
// being read, so their acks drain the queues. When the alarms clear,
// blocked connections get connection.unblocked and are read again.
//
// Server.alarmMu guards the alarm state and every conn's blockedSent;
// lock order: Server.alarmMu → Server.mu → conn.wmu. The reader's hot
// path only loads Server.alarmOn and conn.published (atomics).

// onAlarm is the alarm.Monitor subscriber: it blocks the connections
// that have published, or unblocks them.
func (s *Server) onAlarm(st alarm.State) {
	s.alarmMu.Lock()
	defer s.alarmMu.Unlock()
	s.alarm = st
	if st.Any() {
		if !s.alarmOn.Load() {
			s.alarmClear = make(chan struct{})
			s.alarmOn.Store(true)
		}
		for _, c := range s.connList() {
			if c.published.Load() {
				c.blockLocked(blockReason(st))
			}
		}
		return
	}
	if !s.alarmOn.Load() {
		return
	}
	s.alarmOn.Store(false)
	close(s.alarmClear)
	for _, c := range s.connList() {
		if c.blockedSent {
			c.blockedSent = false
			if c.clientProps.blockedNotify {
				c.send(0, &amqp091.ConnectionUnblocked{})
			}
		}
	}
}

// connList returns the open connections.
func (s *Server) connList() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// blockReason is RabbitMQ's reason text (rabbit_reader:format_blocked_by).
func blockReason(st alarm.State) string {
	var rs []string
	if st.Memory {
		rs = append(rs, "low on memory")
	}
	if st.Disk {
		rs = append(rs, "low on disk space")
	}
	return strings.Join(rs, " & ")
}

// blockLocked sends connection.blocked once per alarm. Caller holds
// Server.alarmMu.
func (c *conn) blockLocked(reason string) {
	if c.blockedSent {
		return
	}
	c.blockedSent = true
	if c.clientProps.blockedNotify {
		c.send(0, &amqp091.ConnectionBlocked{Reason: reason})
	}
}

// waitAlarm holds the reader of a publishing connection while an alarm
// is on. The client's heartbeats are not expected meanwhile (RabbitMQ
// pauses its heartbeat monitor too). Reader goroutine only.
func (c *conn) waitAlarm() {
	s := c.s
	s.alarmMu.Lock()
	if !s.alarmOn.Load() {
		s.alarmMu.Unlock()
		return
	}
	c.blockLocked(blockReason(s.alarm))
	cleared := s.alarmClear
	s.alarmMu.Unlock()
	c.log().Debug("connection blocked by a resource alarm")
	c.paused.Store(true)
	select {
	case <-cleared:
	case <-c.closing:
	case <-c.writerGone:
	}
	c.lastRead.Store(monoNow())
	c.paused.Store(false)
}
