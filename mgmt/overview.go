package mgmt

import (
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/route"
)

// rabbitVersion is the RabbitMQ version Junction's management API speaks
// (clients such as rabbitmqadmin and Terraform's provider read it to pick
// features).
const rabbitVersion = "3.13.7"

// overviewRoutes registers the node-wide endpoints.
func (s *Server) overviewRoutes(r router) {
	r.handle("GET /api/overview", s.getOverview)
	r.handle("GET /api/whoami", s.getWhoami)
	r.list("GET /api/nodes", s.listNodes)
	r.handle("GET /api/nodes/{node}", s.getNode)
	r.handle("GET /api/cluster-name", s.getClusterName)
	r.list("GET /api/extensions", s.listEmpty)
}

// nameDesc is RabbitMQ's {name, description, enabled} triple.
type nameDesc struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled"`
}

// exchangeTypes are the exchange types Junction routes.
var exchangeTypes = []nameDesc{
	{"direct", "AMQP direct exchange, as per the AMQP specification", true},
	{"fanout", "AMQP fanout exchange, as per the AMQP specification", true},
	{"headers", "AMQP headers exchange, as per the AMQP specification", true},
	{"topic", "AMQP topic exchange, as per the AMQP specification", true},
}

// queueTotals is the overview's queue_totals, with the rates of change
// of each (rates.go).
type queueTotals struct {
	Messages        int `json:"messages"`
	MessagesReady   int `json:"messages_ready"`
	MessagesUnacked int `json:"messages_unacknowledged"`

	MessagesDetails        details `json:"messages_details"`
	MessagesReadyDetails   details `json:"messages_ready_details"`
	MessagesUnackedDetails details `json:"messages_unacknowledged_details"`
}

// objectTotals is the overview's object_totals.
type objectTotals struct {
	Channels    int `json:"channels"`
	Connections int `json:"connections"`
	Consumers   int `json:"consumers"`
	Exchanges   int `json:"exchanges"`
	Queues      int `json:"queues"`
}

// listenerJSON is one entry of the overview's listeners.
type listenerJSON struct {
	Node      string `json:"node"`
	Protocol  string `json:"protocol"`
	IPAddress string `json:"ip_address"`
	Port      int    `json:"port"`
}

// contextJSON is one entry of the overview's contexts (HTTP listeners).
type contextJSON struct {
	Node        string `json:"node"`
	Description string `json:"description"`
	Path        string `json:"path"`
	Port        string `json:"port"`
}

// totals counts the queues, messages, exchanges and consumers u may see.
func (s *Server) totals(u *auth.User) (queueTotals, objectTotals) {
	var qt queueTotals
	var ot objectTotals
	for _, v := range s.visibleVhosts(u) {
		for _, q := range v.Queues() {
			st := q.Stats()
			qt.MessagesReady += st.Ready
			qt.MessagesUnacked += st.Unacked + st.Leased
			ot.Consumers += st.Consumers
			ot.Queues++
		}
		for _, d := range v.Routes().Dests() {
			if d.Kind == route.DestStream {
				ot.Queues++
			}
		}
		ot.Exchanges += len(v.Routes().Exchanges()) + 1 // and the default exchange
	}
	qt.Messages = qt.MessagesReady + qt.MessagesUnacked
	for _, c := range s.connections(u) {
		ot.Connections++
		ot.Channels += c.Channels
	}
	if s.opts.conns != nil && isMonitor(u) {
		ot.Connections += s.opts.conns()
	}
	return qt, ot
}

// getOverview serves GET /api/overview.
func (s *Server) getOverview(w http.ResponseWriter, r *http.Request, u *auth.User) {
	qt, ot := s.totals(u)
	stats, dr := s.rates.overview()
	qt.MessagesDetails, qt.MessagesReadyDetails = dr["messages_details"], dr["messages_ready_details"]
	qt.MessagesUnackedDetails = dr["messages_unacknowledged_details"]
	listeners, contexts := s.listenerViews()
	s.writeJSON(w, http.StatusOK, map[string]any{
		"management_version":            rabbitVersion,
		"rabbitmq_version":              rabbitVersion,
		"product_name":                  "Junction",
		"product_version":               s.opts.version,
		"rates_mode":                    "basic",
		"statistics_level":              "coarse",
		"erlang_version":                runtime.Version(),
		"erlang_full_version":           runtime.Version(),
		"cluster_name":                  nodeName,
		"node":                          nodeName,
		"statistics_db_node":            nodeName,
		"disable_stats":                 false,
		"enable_queue_totals":           true,
		"exchange_types":                exchangeTypes,
		"message_stats":                 stats,
		"churn_rates":                   map[string]any{},
		"queue_totals":                  qt,
		"object_totals":                 ot,
		"statistics_db_event_queue":     0,
		"listeners":                     listeners,
		"contexts":                      contexts,
		"is_op_policy_updating_enabled": true,
	})
}

// listenerViews returns the overview's listeners (non-HTTP) and contexts
// (HTTP).
func (s *Server) listenerViews() ([]listenerJSON, []contextJSON) {
	listeners, contexts := []listenerJSON{}, []contextJSON{}
	if s.opts.listeners == nil {
		return listeners, contexts
	}
	for _, l := range s.opts.listeners() {
		host, port := hostPort(l.Addr)
		switch l.Protocol {
		case "http", "https":
			contexts = append(contexts, contextJSON{Node: nodeName, Description: "RabbitMQ Management", Path: "/", Port: strconv.Itoa(port)})
		case "http/prometheus":
			contexts = append(contexts, contextJSON{Node: nodeName, Description: "RabbitMQ Prometheus", Path: "/", Port: strconv.Itoa(port)})
		default:
			if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
				host = "::"
			}
			listeners = append(listeners, listenerJSON{Node: nodeName, Protocol: l.Protocol, IPAddress: host, Port: port})
		}
	}
	return listeners, contexts
}

// getWhoami serves GET /api/whoami.
func (s *Server) getWhoami(w http.ResponseWriter, r *http.Request, u *auth.User) {
	s.writeJSON(w, http.StatusOK, map[string]any{
		"name":         u.Name,
		"tags":         tagList(u.Tags),
		"auth_backend": "rabbit_auth_backend_internal",
	})
}

// tagList never returns nil, so JSON shows [] for no tags.
func tagList(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// node describes this broker as RabbitMQ's node object.
func (s *Server) node() map[string]any {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	alarms := s.alarms()
	memAlarm, diskAlarm := false, false
	for _, a := range alarms {
		memAlarm = memAlarm || a.Resource == "memory"
		diskAlarm = diskAlarm || a.Resource == "disk"
	}
	return map[string]any{
		"name":                    nodeName,
		"type":                    "disc",
		"running":                 true,
		"being_drained":           false,
		"os_pid":                  strconv.Itoa(os.Getpid()),
		"proc_used":               runtime.NumGoroutine(),
		"proc_total":              1 << 20,
		"mem_used":                ms.Sys,
		"mem_limit":               0,
		"mem_alarm":               memAlarm,
		"disk_free_alarm":         diskAlarm,
		"gc_num":                  ms.NumGC,
		"processors":              runtime.NumCPU(),
		"uptime":                  s.uptimeMillis(),
		"rates_mode":              "basic",
		"exchange_types":          exchangeTypes,
		"partitions":              []string{},
		"cluster_links":           []any{},
		"applications":            []any{},
		"auth_mechanisms":         []nameDesc{{"PLAIN", "SASL PLAIN authentication mechanism", true}, {"AMQPLAIN", "QPid AMQPLAIN mechanism", true}},
		"enabled_plugins":         []string{"rabbitmq_management", "rabbitmq_prometheus", "rabbitmq_mqtt", "rabbitmq_web_mqtt"},
		"net_ticktime":            60,
		"run_queue":               0,
		"fd_used":                 0,
		"sockets_used":            len(s.amqpConns()),
		"sockets_total":           1 << 20,
		"metrics_gc_queue_length": map[string]int{},
	}
}

// amqpConns lists the AMQP connections (for counts).
func (s *Server) amqpConns() []connection {
	if s.amqp == nil {
		return nil
	}
	return s.connections(&auth.User{Name: "", Tags: []string{auth.TagAdministrator}})
}

// listNodes serves GET /api/nodes (monitoring).
func (s *Server) listNodes(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireMonitor(w, u) {
		return
	}
	s.writeJSON(w, http.StatusOK, []map[string]any{s.node()})
}

// getNode serves GET /api/nodes/{node}.
func (s *Server) getNode(w http.ResponseWriter, r *http.Request, u *auth.User) {
	if !s.requireMonitor(w, u) {
		return
	}
	if r.PathValue("node") != nodeName {
		s.notFound(w, r, u)
		return
	}
	s.writeJSON(w, http.StatusOK, s.node())
}

// getClusterName serves GET /api/cluster-name.
func (s *Server) getClusterName(w http.ResponseWriter, r *http.Request, u *auth.User) {
	s.writeJSON(w, http.StatusOK, map[string]string{"name": nodeName})
}

// uptimeMillis is how long the management server has run, in ms.
func (s *Server) uptimeMillis() int64 { return time.Since(s.start).Milliseconds() }
