package amqp

import (
	"log/slog"
	"time"

	"github.com/junctionmq/junction/alarm"
)

// Config tunes the AMQP server. The zero value of a field means its
// default (RabbitMQ's).
type Config struct {
	// FrameMax is the largest frame the server accepts and offers in
	// connection.tune. Default 131072.
	FrameMax uint32
	// ChannelMax is the highest channel number. Default 2047.
	ChannelMax uint16
	// Heartbeat is the heartbeat interval offered in connection.tune.
	// Default 60 s; a negative value offers 0 (none).
	Heartbeat time.Duration
	// MaxMessageSize bounds a published body (RabbitMQ's
	// max_message_size). Default 16 MiB.
	MaxMessageSize uint64
	// HandshakeTimeout bounds the time from accept to connection.open-ok.
	// Default 10 s.
	HandshakeTimeout time.Duration
	// ConsumerTimeout closes a channel with 406 when a delivery stays
	// unacknowledged longer. Default 30 min; negative disables it.
	ConsumerTimeout time.Duration
	// ConnectionMax bounds the open connections of the server (RabbitMQ's
	// connection_max); past it connection.open gets 530. 0: no limit.
	ConnectionMax int
	// ConnectionMaxPerUser bounds the open connections of one user (a
	// RabbitMQ user limit max-connections, set for every user); past it
	// connection.open gets 530. 0: no limit.
	ConnectionMaxPerUser int
	// ConsumerMaxPerChannel bounds the consumers of one channel
	// (RabbitMQ's consumer_max_per_channel); past it basic.consume gets
	// 530. 0: no limit.
	ConsumerMaxPerChannel int
	// Version is the server version announced in connection.start.
	Version string
	// ClusterName is announced in connection.start. Default "junction@" +
	// host name.
	ClusterName string
	// Logger is the parent logger. Default slog.Default().
	Logger *slog.Logger
	// BusyPoll, when positive, lets the reader of a busy plain-TCP
	// connection whose socket is empty retry non-blocking reads for up
	// to this long before it parks in the netpoller: a message arriving
	// meanwhile skips a thread wake-up (lower latency at low rates, for
	// CPU). At most max(1, GOMAXPROCS-1) readers spin at once (spin.go).
	// Default 0: off.
	BusyPoll time.Duration
	// Alarms, when set, blocks publishing connections while a resource
	// alarm is on (connection.blocked; see blocked.go).
	Alarms *alarm.Monitor
}

// Defaults, as RabbitMQ 3.13 has them.
const (
	DefaultFrameMax         = 131072
	DefaultChannelMax       = 2047
	DefaultHeartbeat        = 60 * time.Second
	DefaultMaxMessageSize   = 16 << 20
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultConsumerTimeout  = 30 * time.Minute
	// frameMinSize is the smallest frame_max a client may ask for:
	// RabbitMQ's ?FRAME_MIN_SIZE, which older clients use.
	frameMinSize = 4096
)

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.FrameMax == 0 {
		c.FrameMax = DefaultFrameMax
	}
	if c.ChannelMax == 0 {
		c.ChannelMax = DefaultChannelMax
	}
	switch {
	case c.Heartbeat == 0:
		c.Heartbeat = DefaultHeartbeat
	case c.Heartbeat < 0:
		c.Heartbeat = 0
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	switch {
	case c.ConsumerTimeout == 0:
		c.ConsumerTimeout = DefaultConsumerTimeout
	case c.ConsumerTimeout < 0:
		c.ConsumerTimeout = 0
	}
	if c.Version == "" {
		c.Version = "0.0.0-dev"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
