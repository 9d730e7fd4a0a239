package mqtt

import (
	"math"
	"time"

	"github.com/junctionmq/junction/httplimit"
)

// Config configures the MQTT face. The zero value is usable: every field has
// a default (see withDefaults).
type Config struct {
	// Exchange is the exchange MQTT publishes go to and MQTT subscriptions
	// bind to; "" means amq.topic (RabbitMQ's mqtt.exchange).
	Exchange string
	// DefaultVhost is the vhost of a username without "vhost:"; "" means "/".
	DefaultVhost string
	// AllowAnonymous lets clients connect without a username; they act as
	// DefaultUser (RabbitMQ's allow_anonymous and default_user).
	AllowAnonymous bool
	// DefaultUser is the user anonymous clients act as; "" means guest.
	// guest stays loopback-only, so remote anonymous devices need another.
	DefaultUser string
	// CertLogin takes the user name from the common name of a TLS client
	// certificate when the CONNECT has no username (RabbitMQ's
	// ssl_cert_login).
	CertLogin bool
	// AllowedOrigins are the Origin header values a WebSocket upgrade may
	// carry ("*" allows any). Requests without an Origin header (non-browser
	// clients) and same-host origins are always allowed.
	AllowedOrigins []string
	// WebSocketPath is the HTTP path of the WebSocket endpoint; "" means /ws.
	WebSocketPath string
	// ConnectTimeout bounds the time from accept (TLS and WebSocket
	// handshakes included) to a complete CONNECT packet; a client that
	// sends nothing, or its CONNECT a byte at a time, is closed then.
	// 0 means 10 s (RabbitMQ's handshake_timeout).
	ConnectTimeout time.Duration
	// HTTP bounds the WebSocket upgrade request: headers, the time to send
	// it, keep-alive idling before it (zero fields: httplimit's defaults).
	HTTP httplimit.Limits

	// Version is the broker version published in $SYS/broker/version;
	// "" means "junction".
	Version string
	// SysInterval is how often the $SYS topics are published (retained);
	// 0 means 10 s. It is rounded down to whole seconds, at least 1 s.
	SysInterval time.Duration

	// MaxConnections limits concurrent clients; 0 means unlimited. A client
	// over the limit is refused: CONNACK 0x97 quota exceeded (3.1.1: 0x03
	// server unavailable).
	MaxConnections int64
	// MaxPacketSize limits inbound packets in bytes (advertised in CONNACK);
	// 0 means 16 MiB. A larger packet ends the connection, with DISCONNECT
	// 0x95 packet too large for an MQTT 5 client.
	MaxPacketSize uint32
	// RateLimit is the number of PUBLISH packets per second each client may
	// send on average; 0 means no limit. A faster client is throttled: its
	// read loop waits for a token (see limits.go).
	RateLimit float64
	// RateBurst is the number of publishes a client may send at once above
	// RateLimit (the token bucket's size); 0 means RateLimit rounded up, at
	// least 1.
	RateBurst int
	// ReceiveMaximum is the number of unacknowledged QoS 1/2 publishes a
	// client may have in flight towards the server; 0 means 1024.
	ReceiveMaximum uint16
	// MaxInflight is the number of QoS 1/2 messages kept per session
	// (online or offline) before further messages are dropped and counted;
	// 0 means 8192.
	MaxInflight uint16
	// TopicAliasMaximum is the number of topic aliases a client may use;
	// 0 means 64.
	TopicAliasMaximum uint16
	// MaxSessionExpiry caps the session expiry interval in seconds; 0 means
	// no cap.
	MaxSessionExpiry uint32
	// MaxMessageExpiry caps message expiry in seconds, retained messages
	// included; 0 means messages (and retained ones) never expire unless the
	// publisher set a message expiry interval. mochi's default is 24 h.
	MaxMessageExpiry int64
	// WritesPending is the per-client outbound packet queue length; 0 means
	// 64 (8 bytes each, for every connection, idle or not; mochi's default
	// 8192 costs 64 KiB per connection). A publisher
	// waits while a subscriber's queue is full (outboundWait), so a short
	// queue loses nothing.
	WritesPending int32
	// BridgePrefetch is the window of messages from other faces in flight
	// between a vhost's bridge queue and the MQTT sessions; 0 means 256.
	BridgePrefetch int
}

// Default values.
const (
	DefaultExchange      = "amq.topic"
	DefaultWebSocketPath = "/ws"
	defaultMaxPacketSize = 16 << 20
	defaultReceiveMax    = 1024
	defaultMaxInflight   = 8192
	defaultTopicAliasMax = 64
	defaultWritesPending = 64
	defaultPrefetch      = 256
	defaultSysInterval   = 10 * time.Second
	defaultVersion       = "junction"
)

func (c Config) withDefaults() Config {
	if c.Exchange == "" {
		c.Exchange = DefaultExchange
	}
	if c.DefaultVhost == "" {
		c.DefaultVhost = "/"
	}
	if c.DefaultUser == "" {
		c.DefaultUser = "guest"
	}
	if c.WebSocketPath == "" {
		c.WebSocketPath = DefaultWebSocketPath
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.Version == "" {
		c.Version = defaultVersion
	}
	if c.SysInterval <= 0 {
		c.SysInterval = defaultSysInterval
	}
	c.SysInterval = max(c.SysInterval.Truncate(time.Second), time.Second)
	if c.RateLimit < 0 {
		c.RateLimit = 0
	}
	if c.RateLimit > 0 && c.RateBurst <= 0 {
		c.RateBurst = max(1, int(math.Ceil(c.RateLimit)))
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = math.MaxInt64
	}
	if c.MaxPacketSize == 0 {
		c.MaxPacketSize = defaultMaxPacketSize
	}
	if c.ReceiveMaximum == 0 {
		c.ReceiveMaximum = defaultReceiveMax
	}
	if c.MaxInflight == 0 {
		c.MaxInflight = defaultMaxInflight
	}
	if c.TopicAliasMaximum == 0 {
		c.TopicAliasMaximum = defaultTopicAliasMax
	}
	if c.MaxSessionExpiry == 0 {
		c.MaxSessionExpiry = math.MaxUint32
	}
	if c.WritesPending <= 0 {
		c.WritesPending = defaultWritesPending
	}
	if c.BridgePrefetch <= 0 {
		c.BridgePrefetch = defaultPrefetch
	}
	return c
}
