// Package metrics serves Junction's Prometheus metrics on /metrics
// (default port 15692, as RabbitMQ's rabbitmq_prometheus) with the
// official Go client: its exposition format, content negotiation and the
// Go runtime and process collectors.
//
// The broker's own figures come from one Collector that reads every source
// at scrape time: connections per face (AMQP from amqp.Server, MQTT from
// mqtt.Server.Stats), MQTT sessions and packets, per-queue depth (ready,
// unacknowledged) and consumers, per-stream records, the core's message
// totals (core.Broker.Counters), the per-face messages delivered, acked
// and dropped by reason (core.Broker.Tally, which the faces and queues add
// to, plus mochi's own counters for MQTT), the store's counters
// (persist.DB.Stats) and the resource alarms. Nothing is counted on the
// hot path beyond atomic adds: the core's totals and the tally (AMQP adds
// its deliveries once per write batch).
package metrics

import (
	"context"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/junctionmq/junction/alarm"
	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/awsgw"
	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/httplimit"
	"github.com/junctionmq/junction/mqtt"
	"github.com/junctionmq/junction/persist"
)

// Sources are what the metrics are read from. Broker is required; a nil
// source is left out.
type Sources struct {
	Broker *core.Broker
	AMQP   *amqp.Server
	MQTT   *mqtt.Server
	AWS    *awsgw.Server // the AWS gateway (nil: off)
	Store  *persist.DB
	Alarms *alarm.Monitor
	// HTTP bounds the scrapers' request headers and the time to send a
	// request or idle (zero fields: httplimit's defaults).
	HTTP httplimit.Limits
}

// Server serves /metrics.
type Server struct {
	reg  *prometheus.Registry
	http *http.Server
}

// New returns a metrics server for src, with the Go runtime and process
// collectors registered next to the broker's.
func New(src Sources) *Server {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		NewCollector(src),
	)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	hs := &http.Server{Handler: mux}
	src.HTTP.Apply(hs)
	return &Server{reg: reg, http: hs}
}

// Registry returns the registry the server exposes.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Serve serves HTTP on ln until Shutdown; it then returns
// http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error { return s.http.Serve(ln) }

// Shutdown stops serving and waits for scrapes in flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }
