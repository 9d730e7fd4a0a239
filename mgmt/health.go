package mgmt

import (
	"net/http"
	"strconv"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
)

// healthRoutes registers RabbitMQ's health checks and the aliveness test.
// A check answers 200 {"status":"ok"} or 503 {"status":"failed",...}.
func (s *Server) healthRoutes(r router) {
	r.handle("GET /api/health/checks/alarms", s.checkAlarms)
	r.handle("GET /api/health/checks/local-alarms", s.checkAlarms)
	r.handle("GET /api/health/checks/virtual-hosts", s.checkVhosts)
	r.handle("GET /api/health/checks/port-listener/{port}", s.checkPort)
	r.handle("GET /api/health/checks/protocol-listener/{protocol}", s.checkProtocol)
	r.handle("GET /api/health/checks/node-is-quorum-critical", s.checkOK)
	r.handle("GET /api/health/checks/node-is-mirror-sync-critical", s.checkOK)
	r.handle("GET /api/health/checks/ready-to-serve-clients", s.checkOK)
	r.handle("GET /api/aliveness-test/{vhost}", s.alivenessTest)
}

// alarms returns the resource alarms in effect: from WithAlarms, else the
// store's disk alarm.
func (s *Server) alarms() []Alarm {
	if s.opts.alarms != nil {
		return s.opts.alarms()
	}
	if d, ok := s.b.Store().(interface{ DiskLow() bool }); ok && d.DiskLow() {
		return []Alarm{{Resource: "disk"}}
	}
	return nil
}

// checkOK answers a check that cannot fail on a single node.
func (s *Server) checkOK(w http.ResponseWriter, r *http.Request, u *auth.User) {
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// checkFailed answers 503 with RabbitMQ's failure body plus extra fields.
func (s *Server) checkFailed(w http.ResponseWriter, reason string, extra map[string]any) {
	body := map[string]any{"status": "failed", "reason": reason}
	for k, v := range extra {
		body[k] = v
	}
	s.writeJSON(w, http.StatusServiceUnavailable, body)
}

// checkAlarms serves /api/health/checks/alarms and local-alarms.
func (s *Server) checkAlarms(w http.ResponseWriter, r *http.Request, u *auth.User) {
	alarms := s.alarms()
	if len(alarms) == 0 {
		s.checkOK(w, r, u)
		return
	}
	list := make([]map[string]string, len(alarms))
	for i, a := range alarms {
		list[i] = map[string]string{"node": nodeName, "resource": a.Resource}
	}
	s.checkFailed(w, "resource alarm(s) in effect in the cluster", map[string]any{"alarms": list})
}

// checkVhosts serves /api/health/checks/virtual-hosts: every vhost of the
// user store has its router running.
func (s *Server) checkVhosts(w http.ResponseWriter, r *http.Request, u *auth.User) {
	var down []string
	for _, vh := range s.users.Vhosts() {
		if _, err := s.b.Vhost(vh.Name); err != nil {
			down = append(down, vh.Name)
		}
	}
	if len(down) > 0 {
		s.checkFailed(w, "Some virtual hosts are down", map[string]any{"virtual-hosts": down})
		return
	}
	s.checkOK(w, r, u)
}

// ports lists the ports the broker listens on.
func (s *Server) ports() []int {
	out := []int{}
	if s.opts.listeners == nil {
		return out
	}
	for _, l := range s.opts.listeners() {
		_, p := hostPort(l.Addr)
		out = append(out, p)
	}
	return out
}

// checkPort serves /api/health/checks/port-listener/{port}.
func (s *Server) checkPort(w http.ResponseWriter, r *http.Request, u *auth.User) {
	port, err := strconv.Atoi(r.PathValue("port"))
	if err != nil || port <= 0 || port > 65535 {
		s.badRequest(w, "invalid port "+strconv.Quote(r.PathValue("port")))
		return
	}
	ports := s.ports()
	for _, p := range ports {
		if p == port {
			s.writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "port": port})
			return
		}
	}
	s.checkFailed(w, "No active listener", map[string]any{"missing": port, "ports": ports})
}

// protocolNames maps RabbitMQ's protocol-listener names to listener
// protocols.
var protocolNames = map[string]string{
	"amqp091": "amqp", "amqp": "amqp", "amqp/ssl": "amqp/ssl", "amqps": "amqp/ssl",
	"mqtt": "mqtt", "mqtt/ssl": "mqtt/ssl", "mqtts": "mqtt/ssl", "web-mqtt": "http/web-mqtt",
	"http": "http", "https": "https", "prometheus": "http/prometheus", "aws": "aws",
}

// checkProtocol serves /api/health/checks/protocol-listener/{protocol}.
func (s *Server) checkProtocol(w http.ResponseWriter, r *http.Request, u *auth.User) {
	want := protocolNames[r.PathValue("protocol")]
	have := []string{}
	if s.opts.listeners != nil {
		for _, l := range s.opts.listeners() {
			if l.Protocol == want {
				s.writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "protocol": r.PathValue("protocol")})
				return
			}
			have = append(have, l.Protocol)
		}
	}
	s.checkFailed(w, "No active listener", map[string]any{"missing": r.PathValue("protocol"), "protocols": have})
}

// alivenessQueue is the queue RabbitMQ's aliveness test uses.
const alivenessQueue = "aliveness-test"

// alivenessTest serves GET /api/aliveness-test/{vhost}: it declares the
// aliveness-test queue, publishes a message to it through the default
// exchange and gets it back, as RabbitMQ does.
func (s *Server) alivenessTest(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	q, _, err := v.DeclareQueue(core.QueueDecl{Name: alivenessQueue})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m := &message.Message{RoutingKey: alivenessQueue, Body: []byte("test_message"), Origin: message.FaceCore}
	if _, err := v.Publish(m, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	d, ok := q.Get(true)
	if !ok || string(d.Msg.Body) != "test_message" {
		s.writeJSON(w, http.StatusOK, map[string]string{"status": "failed", "reason": "aliveness test message not received"})
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
