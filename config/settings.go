package config

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// kind is a setting's type, shown in the reference and deciding the flag
// type (bool settings are switches; everything else takes a value).
type kind string

const (
	kindString   kind = "string"
	kindPath     kind = "path"
	kindAddr     kind = "address"
	kindBool     kind = "bool"
	kindDuration kind = "duration"
	kindSize     kind = "size"
	kindInt      kind = "integer"
	kindFraction kind = "fraction"
	kindList     kind = "list"
	kindLevel    kind = "level"
	kindFormat   kind = "format"
)

// setting is one configuration key. name is the flag name and the TOML
// key; the environment variable is derived from it by envName.
type setting struct {
	name  string
	kind  kind
	def   string // default, written as on the command line
	usage string
	set   func(c *Config, v string) error
}

// envName returns the environment variable of a setting name:
// data-dir → JUNCTION_DATA_DIR.
func envName(name string) string {
	return "JUNCTION_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// configSetting names the config file; it is a flag and an environment
// variable but not a key of the file itself.
const configSetting = "config"

// field adapts a parser and a field accessor into a setting's set func.
func field[T any](get func(*Config) *T, parse func(string) (T, error)) func(*Config, string) error {
	return func(c *Config, v string) error {
		x, err := parse(v)
		if err != nil {
			return err
		}
		*get(c) = x
		return nil
	}
}

func asIs(s string) (string, error) { return s, nil }

func addr(name, def, what string, get func(*Config) *string) setting {
	return setting{name, kindAddr, def, "listen address for " + what + "; empty turns it off", field(get, parseAddr)}
}

func path(name, usage string, get func(*Config) *string) setting {
	return setting{name, kindPath, "", usage, field(get, asIs)}
}

func dur(name, def, usage string, get func(*Config) *time.Duration) setting {
	return setting{name, kindDuration, def, usage, field(get, parseDuration)}
}

func size(name, def, usage string, get func(*Config) *int64) setting {
	return setting{name, kindSize, def, usage, field(get, ParseSize)}
}

func count(name, usage string, get func(*Config) *int64) setting {
	return setting{name, kindInt, "0", usage + "; 0 is no limit", field(get, parseCount)}
}

func boolean(name, def, usage string, get func(*Config) *bool) setting {
	return setting{name, kindBool, def, usage, field(get, parseBool)}
}

// settings is every key, in the order of the reference and of --help.
var settings = []setting{
	{"data-dir", kindPath, "./data", "directory of the message store (created if missing)", field(func(c *Config) *string { return &c.DataDir }, asIs)},

	addr("amqp-listen", ":5672", "AMQP 0-9-1", func(c *Config) *string { return &c.AMQPListen }),
	addr("amqps-listen", ":5671", "AMQP 0-9-1 over TLS (needs a certificate and key)", func(c *Config) *string { return &c.AMQPSListen }),
	addr("mqtt-listen", ":1883", "MQTT", func(c *Config) *string { return &c.MQTTListen }),
	addr("mqtts-listen", ":8883", "MQTT over TLS (needs a certificate and key)", func(c *Config) *string { return &c.MQTTSListen }),
	addr("mqtt-ws-listen", ":15675", "MQTT over WebSocket (path /ws)", func(c *Config) *string { return &c.MQTTWSListen }),
	addr("mqtt-wss-listen", "", "MQTT over secure WebSocket, wss:// at /ws (needs tls-cert and tls-key; RabbitMQ uses :15676)", func(c *Config) *string { return &c.MQTTWSSListen }),
	addr("aws-listen", ":4566", "AWS gateway (SQS, SNS, Kinesis)", func(c *Config) *string { return &c.AWSListen }),
	addr("mgmt-listen", ":15672", "management HTTP API", func(c *Config) *string { return &c.MgmtListen }),
	addr("metrics-listen", ":15692", "Prometheus metrics (/metrics)", func(c *Config) *string { return &c.MetricsListen }),
	addr("pprof-listen", "", "Go's net/http/pprof profiler (off by default; bind it to loopback)", func(c *Config) *string { return &c.PprofListen }),

	path("tls-cert", "PEM certificate (chain) for the TLS listeners", func(c *Config) *string { return &c.TLSCert }),
	path("tls-key", "PEM private key for tls-cert", func(c *Config) *string { return &c.TLSKey }),
	path("tls-ca", "PEM CA bundle; client certificates signed by it are verified if given", func(c *Config) *string { return &c.TLSCA }),
	path("amqps-tls-cert", "certificate for amqps-listen instead of tls-cert", func(c *Config) *string { return &c.AMQPSTLSCert }),
	path("amqps-tls-key", "private key for amqps-tls-cert", func(c *Config) *string { return &c.AMQPSTLSKey }),
	path("mqtts-tls-cert", "certificate for mqtts-listen instead of tls-cert", func(c *Config) *string { return &c.MQTTSTLSCert }),
	path("mqtts-tls-key", "private key for mqtts-tls-cert", func(c *Config) *string { return &c.MQTTSTLSKey }),
	path("mgmt-tls-cert", "certificate that turns mgmt-listen into HTTPS (tls-cert is not used there)", func(c *Config) *string { return &c.MgmtTLSCert }),
	path("mgmt-tls-key", "private key for mgmt-tls-cert", func(c *Config) *string { return &c.MgmtTLSKey }),
	path("metrics-tls-cert", "certificate that turns metrics-listen into HTTPS (tls-cert is not used there)", func(c *Config) *string { return &c.MetricsTLSCert }),
	path("metrics-tls-key", "private key for metrics-tls-cert", func(c *Config) *string { return &c.MetricsTLSKey }),

	{"log-level", kindLevel, "warn", "minimum log level: debug, info, warn or error", field(func(c *Config) *slog.Level { return &c.LogLevel }, parseLevel)},
	{"log-format", kindFormat, "text", "log format on stderr: text or json", field(func(c *Config) *string { return &c.LogFormat }, parseFormat)},
	path("definitions", "RabbitMQ definitions JSON file to load at boot", func(c *Config) *string { return &c.Definitions }),

	{"amqp-frame-max", kindInt, "131072", "largest AMQP frame offered, in bytes (at least 4096)", field(func(c *Config) *uint32 { return &c.AMQPFrameMax }, parseUint32)},
	{"amqp-channel-max", kindInt, "2047", "most AMQP channels per connection (1-65535)", field(func(c *Config) *uint16 { return &c.AMQPChannelMax }, parseUint16)},
	dur("amqp-heartbeat", "60s", "AMQP heartbeat offered; 0s turns heartbeats off", func(c *Config) *time.Duration { return &c.AMQPHeartbeat }),
	dur("amqp-busy-poll", "0s", "how long the reader of a busy plain-TCP AMQP connection spins on its empty socket before it sleeps, for lower latency at low rates at the cost of CPU (at most GOMAXPROCS-1 readers spin at once); 0s is off", func(c *Config) *time.Duration { return &c.AMQPBusyPoll }),
	size("max-message-size", "16MiB", "largest message body accepted", func(c *Config) *int64 { return &c.MaxMessageSize }),
	dur("consumer-timeout", "30m", "how long a delivery may stay unacknowledged; 0s turns it off", func(c *Config) *time.Duration { return &c.ConsumerTimeout }),
	dur("handshake-timeout", "10s", "time allowed for a client's TLS and protocol handshake", func(c *Config) *time.Duration { return &c.HandshakeTimeout }),
	count("amqp-connection-max", "most AMQP connections open at once (RabbitMQ's connection_max; then connection.close 530)", func(c *Config) *int64 { return &c.AMQPConnectionMax }),
	count("amqp-connection-max-per-user", "most AMQP connections open at once per user (RabbitMQ's user limit max-connections; then 530)", func(c *Config) *int64 { return &c.AMQPConnectionMaxPerUser }),
	count("amqp-consumer-max-per-channel", "most consumers on one AMQP channel (RabbitMQ's consumer_max_per_channel; then 530)", func(c *Config) *int64 { return &c.AMQPConsumerMaxPerChannel }),
	count("max-queues-per-vhost", "most queues in one vhost, AMQP stream queues and SQS queues included (RabbitMQ's vhost limit max-queues; then AMQP 406, SQS OverLimit)", func(c *Config) *int64 { return &c.MaxQueuesPerVhost }),

	{"memory-high-watermark", kindFraction, "0.4", "fraction of RAM above which publishers are blocked", field(func(c *Config) *float64 { return &c.MemoryHighWatermark }, parseFraction)},
	size("memory-high-watermark-absolute", "0", "memory in bytes above which publishers are blocked, instead of memory-high-watermark (RabbitMQ's vm_memory_high_watermark.absolute); 0 uses the fraction", func(c *Config) *int64 { return &c.MemoryHighWatermarkAbsolute }),
	size("disk-free-limit", "50MB", "free disk space below which publishers are blocked", func(c *Config) *int64 { return &c.DiskFreeLimit }),
	{"loopback-users", kindList, "guest", "comma-separated users that may connect only from loopback", field(func(c *Config) *[]string { return &c.LoopbackUsers }, parseList)},

	boolean("aws-accept-any-key", "false", "AWS gateway accepts any access key without checking signatures", func(c *Config) *bool { return &c.AWSAcceptAnyKey }),
	count("aws-max-connections", "most AWS gateway connections open at once (then 503 ServiceUnavailable)", func(c *Config) *int64 { return &c.AWSMaxConnections }),
	size("aws-max-body-size", "8MiB", "largest AWS gateway request body (then 413 RequestEntityTooLarge)", func(c *Config) *int64 { return &c.AWSMaxBodySize }),
	size("http-max-header-size", "64KiB", "largest request line and headers on the HTTP listeners: AWS, management, metrics, WebSocket (then 431)", func(c *Config) *int64 { return &c.HTTPMaxHeaderSize }),
	dur("http-read-timeout", "30s", "time allowed to send an HTTP request, headers and body (slow senders are cut off)", func(c *Config) *time.Duration { return &c.HTTPReadTimeout }),
	dur("http-idle-timeout", "2m", "how long an idle keep-alive HTTP connection is kept", func(c *Config) *time.Duration { return &c.HTTPIdleTimeout }),
	boolean("kinesis-no-limits", "false", "Kinesis streams ignore AWS's per-shard throughput limits (1,000 records and 1 MiB/s in, 5 reads and 2 MiB/s out, 2 MiB/s per SubscribeToShard consumer)", func(c *Config) *bool { return &c.KinesisNoLimits }),
	boolean("mqtt-allow-anonymous", "false", "MQTT clients may connect without a username", func(c *Config) *bool { return &c.MQTTAllowAnonymous }),
	boolean("mqtt-cert-login", "false", "an MQTTS client without a username whose certificate verified against tls-ca logs in as the certificate's CN (RabbitMQ's ssl_cert_login)", func(c *Config) *bool { return &c.MQTTCertLogin }),
	{"mqtt-default-user", kindString, "guest", "user that anonymous MQTT clients act as", field(func(c *Config) *string { return &c.MQTTDefaultUser }, asIs)},
	dur("mqtt-sys-interval", "10s", "how often the MQTT $SYS topics are published (whole seconds, at least 1s)", func(c *Config) *time.Duration { return &c.MQTTSysInterval }),
	{"mqtt-max-connections", kindInt, "0", "most MQTT clients connected at once (then CONNACK 0x97, 3.1.1: 0x03); 0 is no limit", field(func(c *Config) *int64 { return &c.MQTTMaxConnections }, parseCount)},
	{"mqtt-max-packet-size", kindSize, "16MiB", "largest MQTT packet accepted (then DISCONNECT 0x95 in MQTT 5), at most 256MiB", field(func(c *Config) *uint32 { return &c.MQTTMaxPacketSize }, parsePacketSize)},
	{"mqtt-rate-limit", kindInt, "0", "MQTT PUBLISH packets per second per client; a faster client is throttled; 0 is no limit", field(func(c *Config) *int64 { return &c.MQTTRateLimit }, parseCount)},
	{"mqtt-rate-burst", kindInt, "0", "MQTT publishes a client may send at once above mqtt-rate-limit; 0 means mqtt-rate-limit", field(func(c *Config) *int64 { return &c.MQTTRateBurst }, parseCount)},
}

// parseCount parses a non-negative integer.
func parseCount(s string) (int64, error) {
	n, err := parseUint(s, 0, 1<<63-1)
	return int64(n), err
}

// parsePacketSize parses a size from 1 byte to 256 MiB, the largest MQTT
// packet (a 268,435,455-byte remaining length and its header).
func parsePacketSize(s string) (uint32, error) {
	n, err := ParseSize(s)
	if err == nil && (n < 1 || n > 256<<20) {
		err = fmt.Errorf("want a size from 1 byte to 256MiB")
	}
	return uint32(n), err
}

func parseUint32(s string) (uint32, error) {
	n, err := parseUint(s, 4096, 1<<32-1)
	return uint32(n), err
}

func parseUint16(s string) (uint16, error) {
	n, err := parseUint(s, 1, 1<<16-1)
	return uint16(n), err
}

// lookup returns the setting called name.
func lookup(name string) (setting, bool) {
	for _, s := range settings {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
}

// tlsPairs lists the certificate/key settings that must be set together.
var tlsPairs = [][2]string{
	{"tls-cert", "tls-key"},
	{"amqps-tls-cert", "amqps-tls-key"},
	{"mqtts-tls-cert", "mqtts-tls-key"},
	{"mgmt-tls-cert", "mgmt-tls-key"},
	{"metrics-tls-cert", "metrics-tls-key"},
}
