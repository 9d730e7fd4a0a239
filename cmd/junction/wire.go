package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/junctionmq/junction/alarm"
	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/awsgw"
	"github.com/junctionmq/junction/config"
	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/metrics"
	"github.com/junctionmq/junction/mgmt"
	"github.com/junctionmq/junction/mqtt"
	"github.com/junctionmq/junction/persist"
)

// startBroker opens the store and the core under cfg.DataDir, loads the
// definitions file if one is configured, and starts a face on each bound
// listener (keyed by config.AMQP, config.MQTT, ...). A listener without a
// face yet is held open and closed on stop. stop shuts the faces down
// (AMQP clients get connection.close 320), then closes the core and
// flushes and closes the store.
func startBroker(ctx context.Context, cfg *config.Config, listeners map[string]net.Listener) (stop func(ctx context.Context) error, err error) {
	log := slog.Default()
	st, err := persist.Open(cfg.DataDir, persist.Options{Logger: log, DiskFreeLimit: cfg.DiskFreeLimit})
	if err != nil {
		return nil, fmt.Errorf("data-dir %s: %w", cfg.DataDir, err)
	}
	b, err := core.Open(core.Config{Store: st, Logger: log, Auth: auth.Options{
		KeyFile:       filepath.Join(cfg.DataDir, "auth.key"),
		LoopbackUsers: cfg.LoopbackUsers,
	}})
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("data-dir %s: %w", cfg.DataDir, err)
	}
	if err := loadDefinitions(b, cfg.Definitions, log); err != nil {
		_ = b.Close()
		_ = st.Close()
		return nil, err
	}
	alarms := newAlarms(cfg, log)
	amqpSrv := &onceClose{srv: amqp.NewServer(amqp.NewCoreBroker(b), amqp.Config{
		FrameMax:         cfg.AMQPFrameMax,
		ChannelMax:       cfg.AMQPChannelMax,
		Heartbeat:        cfg.AMQPHeartbeat,
		MaxMessageSize:   uint64(cfg.MaxMessageSize),
		HandshakeTimeout: cfg.HandshakeTimeout,
		ConsumerTimeout:  cfg.ConsumerTimeout,
		Version:          version,
		Logger:           log,
		Alarms:           alarms,
	})}
	svcs := services{config.AMQP: amqpSrv, config.AMQPS: amqpSrv}
	if err := startMQTT(b, cfg, log, svcs); err != nil {
		_ = b.Close()
		_ = st.Close()
		return nil, err
	}
	awsTLS, err := config.TLS(cfg.TLSCert, cfg.TLSKey, cfg.TLSCA) // https:// on aws-listen too
	if err != nil {
		_ = b.Close()
		_ = st.Close()
		return nil, fmt.Errorf("aws-listen: %w", err)
	}
	aws, err := awsgw.New(b, awsgw.Config{AcceptAnyKey: cfg.AWSAcceptAnyKey,
		KinesisNoLimits: cfg.KinesisNoLimits, TLS: awsTLS}, log)
	if err != nil {
		_ = b.Close()
		_ = st.Close()
		return nil, fmt.Errorf("aws gateway: %w", err)
	}
	svcs[config.AWS] = aws
	svcs[config.Mgmt], svcs[config.Metrics] = startManagement(b, st, amqpSrv.srv, svcs, alarms, listeners, log)
	alarms.Start()
	stopServices := startServices(ctx, svcs, listeners)
	return func(ctx context.Context) error {
		err := stopServices(ctx)
		alarms.Close()
		err = errors.Join(err, b.Close(), st.Close())
		return err
	}, nil
}

// startManagement creates the management API and the Prometheus metrics
// server over the broker, its store, faces and alarms.
func startManagement(b *core.Broker, st *persist.DB, amqpSrv *amqp.Server, svcs services, alarms *alarm.Monitor,
	listeners map[string]net.Listener, log *slog.Logger) (*mgmt.Server, *metrics.Server) {
	var mqttSrv *mqtt.Server
	if m, ok := svcs[config.MQTT].(*mqttService); ok {
		mqttSrv = m.srv
	}
	opts := []mgmt.Option{
		mgmt.WithVersion(version),
		mgmt.WithListeners(func() []mgmt.Listener { return mgmtListeners(listeners) }),
		mgmt.WithAlarms(func() []mgmt.Alarm {
			var out []mgmt.Alarm
			s := alarms.State()
			if s.Memory {
				out = append(out, mgmt.Alarm{Resource: "memory"})
			}
			if s.Disk {
				out = append(out, mgmt.Alarm{Resource: "disk"})
			}
			return out
		}),
	}
	if mqttSrv != nil {
		opts = append(opts, mgmt.WithConnections(func() int { return int(mqttSrv.Stats().Connected) }))
	}
	m := mgmt.New(b, amqpSrv, log, opts...)
	p := metrics.New(metrics.Sources{Broker: b, AMQP: amqpSrv, MQTT: mqttSrv, Store: st, Alarms: alarms})
	return m, p
}

// listenerProtocols are RabbitMQ's protocol names of the listeners.
var listenerProtocols = map[string]string{
	config.AMQP: "amqp", config.AMQPS: "amqp/ssl", config.MQTT: "mqtt", config.MQTTS: "mqtt/ssl",
	config.MQTTWS: "http/web-mqtt", config.AWS: "aws", config.Mgmt: "http", config.Metrics: "http/prometheus",
}

// mgmtListeners describes the bound listeners for the management API.
func mgmtListeners(listeners map[string]net.Listener) []mgmt.Listener {
	out := make([]mgmt.Listener, 0, len(listeners))
	for name, ln := range listeners {
		if proto, ok := listenerProtocols[name]; ok {
			out = append(out, mgmt.Listener{Protocol: proto, Addr: ln.Addr()})
		}
	}
	slices.SortFunc(out, func(a, b mgmt.Listener) int { return strings.Compare(a.Protocol, b.Protocol) })
	return out
}

// newAlarms returns the resource alarm monitor (not started): memory
// above memory-high-watermark of RAM, free space of the data directory
// below disk-free-limit, checked every second.
func newAlarms(cfg *config.Config, log *slog.Logger) *alarm.Monitor {
	limit, err := alarm.MemoryLimit(cfg.MemoryHighWatermark)
	if err != nil {
		log.Warn("memory alarm off: total RAM unknown", "err", err)
	}
	return alarm.New(alarm.Config{MemoryLimit: limit, DiskLow: alarm.DiskLow(cfg.DataDir, cfg.DiskFreeLimit), Logger: log})
}

// loadDefinitions imports a RabbitMQ definitions file at boot, as
// RabbitMQ's load_definitions does. What Junction does not support is
// skipped with one warning that lists it.
func loadDefinitions(b *core.Broker, path string, log *slog.Logger) error {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("definitions: %w", err)
	}
	d, err := auth.ParseDefinitions(data)
	if err != nil {
		return fmt.Errorf("definitions %s: %w", path, err)
	}
	skipped, err := b.ImportDefinitions(d)
	if err != nil {
		return fmt.Errorf("definitions %s: %w", path, err)
	}
	if len(skipped) > 0 {
		log.Warn("definitions: skipped what Junction does not support", "file", path, "skipped", strings.Join(skipped, "; "))
	}
	return nil
}

// startMQTT creates the MQTT face and registers it for the MQTT, MQTTS
// (already TLS-wrapped by the listener) and MQTT-over-WebSocket listeners.
func startMQTT(b *core.Broker, cfg *config.Config, log *slog.Logger, svcs services) error {
	srv, err := mqtt.New(b, mqtt.Config{AllowAnonymous: cfg.MQTTAllowAnonymous, DefaultUser: cfg.MQTTDefaultUser}, log)
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	m := &mqttService{srv: srv}
	svcs[config.MQTT] = m
	svcs[config.MQTTS] = m
	svcs[config.MQTTWS] = &mqttWS{m}
	return nil
}

// mqttService adapts the MQTT face, which serves several listeners and
// shuts down once, to the service interface.
type mqttService struct {
	srv  *mqtt.Server
	once sync.Once
	err  error
}

func (m *mqttService) Serve(ln net.Listener) error {
	return ignoreClosed(m.srv.Serve(ln), mqtt.ErrServerClosed)
}

func (m *mqttService) Shutdown(ctx context.Context) error {
	m.once.Do(func() { m.err = m.srv.Shutdown(ctx) })
	return m.err
}

// mqttWS serves MQTT over WebSocket on its listener.
type mqttWS struct{ *mqttService }

func (m *mqttWS) Serve(ln net.Listener) error {
	return ignoreClosed(m.srv.ServeWebSocket(ln), mqtt.ErrServerClosed)
}

func ignoreClosed(err, closed error) error {
	if errors.Is(err, closed) {
		return nil
	}
	return err
}

// onceClose adapts the AMQP server, which serves several listeners (AMQP
// and AMQPS) and closes once, to the service interface.
type onceClose struct {
	srv  *amqp.Server
	once sync.Once
	err  error
}

func (o *onceClose) Serve(ln net.Listener) error {
	return ignoreClosed(o.srv.Serve(ln), amqp.ErrServerClosed)
}

func (o *onceClose) Shutdown(ctx context.Context) error {
	o.once.Do(func() { o.err = o.srv.Close(ctx) })
	return o.err
}
