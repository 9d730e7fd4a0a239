package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/junctionmq/junction/alarm"
	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/awsgw"
	"github.com/junctionmq/junction/config"
	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/httplimit"
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
	}, MaxQueuesPerVhost: int(cfg.MaxQueuesPerVhost)})
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("data-dir %s: %w", cfg.DataDir, err)
	}
	fail := func(err error) (func(context.Context) error, error) {
		_ = b.Close()
		_ = st.Close()
		return nil, err
	}
	if err := loadDefinitions(b, cfg.Definitions, log); err != nil {
		return fail(err)
	}
	alarms := newAlarms(cfg, log)
	alarms.Subscribe(func(s alarm.State) { b.SetMemoryPressure(s.Memory) }) // page transient messages out
	amqpSrv := amqp.NewServer(amqp.NewCoreBroker(b), amqp.Config{
		FrameMax:         cfg.AMQPFrameMax,
		ChannelMax:       cfg.AMQPChannelMax,
		Heartbeat:        cfg.AMQPHeartbeat,
		BusyPoll:         cfg.AMQPBusyPoll,
		MaxMessageSize:   uint64(cfg.MaxMessageSize),
		HandshakeTimeout: cfg.HandshakeTimeout,
		ConsumerTimeout:  cfg.ConsumerTimeout,
		ConnectionMax:    int(cfg.AMQPConnectionMax),
		Version:          version,
		Logger:           log,
		Alarms:           alarms,

		ConnectionMaxPerUser:  int(cfg.AMQPConnectionMaxPerUser),
		ConsumerMaxPerChannel: int(cfg.AMQPConsumerMaxPerChannel),
	})
	httpLimits := httpLimitsOf(cfg)
	amqpStop := &stopOnce{stop: amqpSrv.Close}
	amqpSvc := faceService{amqpStop, amqpSrv.Serve, amqp.ErrServerClosed}
	svcs := services{config.AMQP: amqpSvc, config.AMQPS: amqpSvc}
	mqttSrv, err := mqtt.New(b, mqtt.Config{AllowAnonymous: cfg.MQTTAllowAnonymous, DefaultUser: cfg.MQTTDefaultUser, CertLogin: cfg.MQTTCertLogin,
		Version: version, SysInterval: cfg.MQTTSysInterval, MaxConnections: cfg.MQTTMaxConnections,
		MaxPacketSize: cfg.MQTTMaxPacketSize, HTTP: httpLimits, ConnectTimeout: cfg.HandshakeTimeout, RateLimit: float64(cfg.MQTTRateLimit), RateBurst: int(cfg.MQTTRateBurst)}, log)
	if err != nil {
		return fail(fmt.Errorf("mqtt: %w", err))
	}
	// MQTTS arrives TLS-wrapped by its listener; WebSocket has its own serve.
	mqttStop := &stopOnce{stop: mqttSrv.Shutdown}
	svcs[config.MQTT] = faceService{mqttStop, mqttSrv.Serve, mqtt.ErrServerClosed}
	svcs[config.MQTTS] = svcs[config.MQTT]
	svcs[config.MQTTWS] = faceService{mqttStop, mqttSrv.ServeWebSocket, mqtt.ErrServerClosed}
	// wss: the same WebSocket serve on a TLS-wrapped listener.
	svcs[config.MQTTWSS] = svcs[config.MQTTWS]
	awsTLS, err := config.TLS(cfg.TLSCert, cfg.TLSKey, cfg.TLSCA) // https:// on aws-listen too
	if err != nil {
		return fail(fmt.Errorf("aws-listen: %w", err))
	}
	aws, err := awsgw.New(b, awsgw.Config{AcceptAnyKey: cfg.AWSAcceptAnyKey,
		KinesisNoLimits: cfg.KinesisNoLimits, TLS: awsTLS, HTTP: httpLimits,
		MaxConnections: int(cfg.AWSMaxConnections), MaxBodyBytes: cfg.AWSMaxBodySize}, log)
	if err != nil {
		return fail(fmt.Errorf("aws gateway: %w", err))
	}
	svcs[config.AWS] = aws
	svcs[config.Mgmt], svcs[config.Metrics] = startManagement(b, st, amqpSrv, mqttSrv, aws, alarms, httpLimits, listeners, log)
	alarms.Start()
	stopServices := startServices(ctx, svcs, listeners)
	return func(ctx context.Context) error {
		err := stopServices(ctx)
		alarms.Close()
		return errors.Join(err, b.Close(), st.Close())
	}, nil
}

// startManagement creates the management API and the Prometheus metrics
// server over the broker, its store, faces and alarms.
func startManagement(b *core.Broker, st *persist.DB, amqpSrv *amqp.Server, mqttSrv *mqtt.Server, aws *awsgw.Server,
	alarms *alarm.Monitor, httpLimits httplimit.Limits, listeners map[string]net.Listener, log *slog.Logger) (*mgmt.Server, *metrics.Server) {
	opts := []mgmt.Option{
		mgmt.WithVersion(version),
		mgmt.WithHTTPLimits(httpLimits),
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
		mgmt.WithMemoryWatermark(mgmt.Watermark{Get: alarms.MemoryLimit, Set: alarms.SetMemoryLimit,
			RAM: func() uint64 { ram, _ := alarm.MemTotal(); return ram }}),
	}
	if mqttSrv != nil {
		opts = append(opts, mgmt.WithConnections(func() int { return int(mqttSrv.Stats().Connected) }),
			mgmt.WithMQTT(mqttSrv))
	}
	if aws != nil {
		opts = append(opts, mgmt.WithAWS(aws))
	}
	m := mgmt.New(b, amqpSrv, log, opts...)
	p := metrics.New(metrics.Sources{Broker: b, AMQP: amqpSrv, MQTT: mqttSrv, AWS: aws, Store: st, Alarms: alarms, HTTP: httpLimits})
	return m, p
}

// httpLimitsOf returns the limits of every HTTP listener.
func httpLimitsOf(cfg *config.Config) httplimit.Limits {
	return httplimit.Limits{MaxHeaderBytes: int(cfg.HTTPMaxHeaderSize), ReadTimeout: cfg.HTTPReadTimeout,
		IdleTimeout: cfg.HTTPIdleTimeout}
}

// listenerProtocols are RabbitMQ's protocol names of the listeners.
var listenerProtocols = map[string]string{
	config.AMQP: "amqp", config.AMQPS: "amqp/ssl", config.MQTT: "mqtt", config.MQTTS: "mqtt/ssl",
	config.MQTTWS: "http/web-mqtt", config.MQTTWSS: "https/web-mqtt", config.AWS: "aws", config.Mgmt: "http", config.Metrics: "http/prometheus",
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
// above memory-high-watermark of RAM (or memory-high-watermark-absolute
// bytes), free space of the data directory below disk-free-limit, checked
// every alarmInterval.
func newAlarms(cfg *config.Config, log *slog.Logger) *alarm.Monitor {
	limit, err := alarm.MemoryLimit(cfg.MemoryHighWatermark)
	if err != nil {
		log.Warn("memory alarm off: total RAM unknown", "err", err)
	}
	if cfg.MemoryHighWatermarkAbsolute > 0 {
		limit = uint64(cfg.MemoryHighWatermarkAbsolute)
	}
	if limit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		// The Go collector works harder as the heap nears the watermark
		// and returns freed memory to the system, instead of letting the
		// heap grow to twice the live data (GOGC) past it.
		debug.SetMemoryLimit(int64(limit))
	}
	return alarm.New(alarm.Config{Interval: alarmInterval, MemoryLimit: limit,
		DiskLow: alarm.DiskLow(cfg.DataDir, cfg.DiskFreeLimit), Logger: log})
}

// alarmInterval is how often the resource alarms are checked (a
// runtime/metrics read and a statfs: a few microseconds); a fast
// publisher adds hundreds of MiB a second.
const alarmInterval = 100 * time.Millisecond

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

// faceService adapts a face that serves several listeners (AMQP and
// AMQPS; MQTT, MQTTS and WebSocket) and stops once to the service
// interface; serve's error after the stop (closed) is not an error.
type faceService struct {
	*stopOnce
	serve  func(net.Listener) error
	closed error
}

func (f faceService) Serve(ln net.Listener) error {
	if err := f.serve(ln); !errors.Is(err, f.closed) {
		return err
	}
	return nil
}

// stopOnce runs a face's stop once, however many listeners shut it down.
type stopOnce struct {
	stop func(context.Context) error
	once sync.Once
	err  error
}

func (s *stopOnce) Shutdown(ctx context.Context) error {
	s.once.Do(func() { s.err = s.stop(ctx) })
	return s.err
}
