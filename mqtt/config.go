package mqtt

import "math"

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

	// MaxConnections limits concurrent clients; 0 means unlimited.
	MaxConnections int64
	// MaxPacketSize limits inbound packets in bytes (advertised in CONNACK);
	// 0 means 16 MiB.
	MaxPacketSize uint32
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
	// 256 (mochi's default 8192 costs 64 KiB per connection). A publisher
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
	defaultWritesPending = 256
	defaultPrefetch      = 256
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
