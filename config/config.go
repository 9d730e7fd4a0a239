package config

import (
	"log/slog"
	"time"
)

// Config is every setting of the junction binary, resolved from flags,
// environment, config file and defaults by [Load]. An empty listen address
// means that listener is off.
type Config struct {
	// File is the TOML file the settings were read from, "" if none.
	File string

	// DataDir is the directory of the Badger store.
	DataDir string

	// Listen addresses (host:port or :port); "" turns a listener off.
	AMQPListen    string
	AMQPSListen   string
	MQTTListen    string
	MQTTSListen   string
	MQTTWSListen  string
	MQTTWSSListen string
	AWSListen     string
	MgmtListen    string
	MetricsListen string
	// PprofListen serves net/http/pprof for profiling; "" (the default)
	// turns it off.
	PprofListen string

	// TLSCert, TLSKey and TLSCA are the PEM files shared by the TLS
	// listeners; TLSCA, when set, verifies client certificates if given.
	TLSCert string
	TLSKey  string
	TLSCA   string

	// Per-listener certificate and key, used instead of TLSCert/TLSKey.
	AMQPSTLSCert string
	AMQPSTLSKey  string
	MQTTSTLSCert string
	MQTTSTLSKey  string
	MgmtTLSCert  string
	MgmtTLSKey   string
	// MetricsTLSCert and MetricsTLSKey turn the metrics listener into HTTPS.
	MetricsTLSCert string
	MetricsTLSKey  string

	// LogLevel is the minimum level logged; LogFormat is "text" or "json".
	LogLevel  slog.Level
	LogFormat string

	// Definitions is a RabbitMQ definitions JSON file loaded at boot.
	Definitions string

	// AMQP 0-9-1 tuning, offered to clients in connection.tune.
	AMQPFrameMax   uint32
	AMQPChannelMax uint16
	AMQPHeartbeat  time.Duration
	// AMQPBusyPoll is how long a busy AMQP reader spins on its empty
	// socket before it parks (0: off; amqp.Config.BusyPoll).
	AMQPBusyPoll time.Duration

	// MaxMessageSize is the largest message body accepted, in bytes.
	MaxMessageSize int64
	// ConsumerTimeout is how long a delivery may stay unacknowledged;
	// 0 turns the limit off.
	ConsumerTimeout time.Duration
	// HandshakeTimeout bounds a client's protocol (and TLS) handshake.
	HandshakeTimeout time.Duration

	// Limits on what AMQP clients hold (0: no limit): open connections,
	// in total and per user, and consumers per channel.
	AMQPConnectionMax         int64
	AMQPConnectionMaxPerUser  int64
	AMQPConsumerMaxPerChannel int64
	// MaxQueuesPerVhost bounds the queues of each vhost (0: no limit).
	MaxQueuesPerVhost int64

	// AWSMaxConnections bounds the AWS gateway's open connections (0: no
	// limit); AWSMaxBodySize its request bodies.
	AWSMaxConnections int64
	AWSMaxBodySize    int64
	// Limits of every HTTP listener: request line and headers, the time to
	// send a request, keep-alive idling.
	HTTPMaxHeaderSize int64
	HTTPReadTimeout   time.Duration
	HTTPIdleTimeout   time.Duration

	// MemoryHighWatermark is the fraction of RAM above which publishers
	// are blocked and transient messages paged out.
	MemoryHighWatermark float64
	// MemoryHighWatermarkAbsolute, when above 0, is the watermark in
	// bytes instead (RabbitMQ's vm_memory_high_watermark.absolute).
	MemoryHighWatermarkAbsolute int64
	// DiskFreeLimit is the free disk space, in bytes, below which
	// publishers are blocked.
	DiskFreeLimit int64

	// LoopbackUsers may connect only from a loopback address.
	LoopbackUsers []string

	// AWSAcceptAnyKey lets the AWS gateway accept any access key and skip
	// SigV4 signature checks (for local development).
	AWSAcceptAnyKey bool

	// KinesisNoLimits turns off Kinesis's per-shard throughput limits
	// (for local development and benchmarks).
	KinesisNoLimits bool

	// MQTTAllowAnonymous lets MQTT clients connect without a username;
	// they then act as MQTTDefaultUser.
	MQTTAllowAnonymous bool
	MQTTDefaultUser    string
	// MQTTCertLogin names an MQTTS client without a username by the CN of
	// its verified client certificate.
	MQTTCertLogin bool
	// MQTTSysInterval is how often the $SYS topics are published.
	MQTTSysInterval time.Duration
	// MQTTMaxConnections limits connected MQTT clients (0: no limit).
	MQTTMaxConnections int64
	// MQTTMaxPacketSize is the largest inbound MQTT packet, in bytes.
	MQTTMaxPacketSize uint32
	// MQTTRateLimit and MQTTRateBurst throttle each client's publishes
	// (messages per second, 0: no limit; bucket size, 0: the rate).
	MQTTRateLimit int64
	MQTTRateBurst int64
}

// Defaults returns the configuration of a `junction serve` with no flags,
// no environment and no config file.
func Defaults() *Config {
	c := &Config{}
	for _, s := range settings {
		_ = s.set(c, s.def) // every default parses: TestDefaults
	}
	return c
}
