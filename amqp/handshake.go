package amqp

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// handshake runs the connection negotiation: protocol header, start,
// start-ok (SASL), tune, tune-ok, open. AMQP 0-9-1 2.2.4.
func (c *conn) handshake() error {
	c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.HandshakeTimeout))
	if err := c.r.ReadProtocolHeader(); err != nil {
		if errors.Is(err, amqp091.ErrProtocolHeader) {
			// AMQP 0-9-1 4.2.2: answer with our header and close.
			c.wmu.Lock()
			c.w.WriteProtocolHeader()
			c.shutAfterFlush = true
			c.wmu.Unlock()
			c.signal()
		}
		return err
	}
	if err := c.tlsHandshake(); err != nil {
		return err
	}
	c.send(0, c.startMethod())
	so, err := expect[*amqp091.ConnectionStartOk](c)
	if err != nil {
		return err
	}
	if err := c.authenticate(so); err != nil {
		return err
	}
	if err := c.tune(); err != nil {
		return err
	}
	open, err := expect[*amqp091.ConnectionOpen](c)
	if err != nil {
		return err
	}
	if re := c.s.open.admit(c.user, &c.s.cfg); re != nil {
		re.classID, re.methodID = open.ClassID(), open.MethodID()
		c.closeConn(re)
		return re
	}
	c.admitted = true
	vh, err := c.s.broker.OpenVhost(c.user, open.VirtualHost, ConnInfo{ID: c.id, Name: c.name, Remote: c.nc.RemoteAddr()})
	if err != nil {
		re := replyFor(err, object{vhost: open.VirtualHost, user: c.user})
		re.hard = true
		c.closeConn(re)
		return err
	}
	c.vhost = vh
	c.nc.SetReadDeadline(time.Time{})
	// Listed before the client hears open-ok, so that a management call
	// it makes right after connecting finds the connection.
	c.publishMeta()
	c.wmu.Lock()
	c.writeMethodLocked(0, &amqp091.ConnectionOpenOk{})
	c.tuned = true
	c.wmu.Unlock()
	c.signal()
	select {
	case c.retick <- struct{}{}:
	default:
	}
	return nil
}

// errHandshake means the client broke the handshake sequence.
var errHandshake = errors.New("amqp: unexpected frame during handshake")

// expect reads the next method, skipping heartbeats, and requires it to be
// an M. Anything else closes the connection.
func expect[M amqp091.Method](c *conn) (M, error) {
	var zero M
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			return zero, err
		}
		if f.Type == amqp091.FrameHeartbeat {
			continue
		}
		if f.Type != amqp091.FrameMethod || f.Channel != 0 {
			c.closeConn(hardErr(amqp091.UnexpectedFrame, "expected method frame on channel 0 during handshake"))
			return zero, errHandshake
		}
		m, err := amqp091.DecodeMethod(f.Payload)
		if err != nil {
			c.closeConn(codecErr(err))
			return zero, err
		}
		if got, ok := m.(M); ok {
			return got, nil
		}
		if _, ok := m.(*amqp091.ConnectionClose); ok {
			c.send(0, &amqp091.ConnectionCloseOk{})
			c.wmu.Lock()
			c.shutAfterFlush = true
			c.wmu.Unlock()
			return zero, errHandshake
		}
		c.closeConn(hardErr(amqp091.CommandInvalid, "expected '%s', got '%s'", zero.Name(), m.Name()))
		return zero, errHandshake
	}
}

// startMethod is connection.start with the server properties RabbitMQ
// sends, in its order.
func (c *conn) startMethod() *amqp091.ConnectionStart {
	caps := message.Table{
		{Key: "publisher_confirms", Value: true},
		{Key: "exchange_exchange_bindings", Value: true},
		{Key: "basic.nack", Value: true},
		{Key: "consumer_cancel_notify", Value: true},
		{Key: "connection.blocked", Value: true},
		{Key: "consumer_priorities", Value: true},
		{Key: "authentication_failure_close", Value: true},
		{Key: "per_consumer_qos", Value: true},
		{Key: "direct_reply_to", Value: true},
	}
	return &amqp091.ConnectionStart{
		VersionMajor: amqp091.VersionMajor,
		VersionMinor: amqp091.VersionMinor,
		ServerProperties: message.Table{
			{Key: "capabilities", Value: caps},
			{Key: "cluster_name", Value: c.s.cfg.ClusterName},
			{Key: "copyright", Value: "Copyright (c) The Junction authors"},
			{Key: "information", Value: "Licensed under the Apache License 2.0. AMQP 0-9-1 as RabbitMQ speaks it."},
			{Key: "platform", Value: "Go " + runtime.Version()},
			{Key: "product", Value: "Junction"},
			{Key: "version", Value: c.s.cfg.Version},
		},
		Mechanisms: c.mechanisms(),
		Locales:    "en_US",
	}
}

// authenticate decodes the SASL response and checks it with the broker.
// Failures close the connection with 403, as RabbitMQ does for clients
// with authentication_failure_close.
func (c *conn) authenticate(so *amqp091.ConnectionStartOk) error {
	c.readClientProps(so.ClientProperties)
	c.mechanism, c.props = so.Mechanism, so.ClientProperties
	user, pass, ok := "", "", false
	switch so.Mechanism {
	case "PLAIN":
		user, pass, ok = parsePlain(so.Response)
	case "AMQPLAIN":
		user, pass, ok = parseAMQPlain(so.Response)
	case "EXTERNAL":
		if c.certUser == "" {
			c.closeConn(hardErr(amqp091.CommandInvalid, "unknown authentication mechanism '%s'", so.Mechanism))
			return errHandshake
		}
		user, ok = c.certUser, true
	default:
		c.closeConn(hardErr(amqp091.CommandInvalid, "unknown authentication mechanism '%s'", so.Mechanism))
		return errHandshake
	}
	err := ErrAuthFailed
	switch {
	case ok && so.Mechanism == "EXTERNAL":
		err = c.s.broker.(externalAuthenticator).AuthenticateExternal(user, c.nc.RemoteAddr())
	case ok:
		err = c.s.broker.Authenticate(user, pass, c.nc.RemoteAddr())
	}
	if err != nil {
		c.log().Info("authentication failed", "user", user, "mechanism", so.Mechanism)
		// As RabbitMQ: connection.close only to clients that announce
		// authentication_failure_close; the others see the socket close.
		if c.clientProps.authFailureClose {
			c.closeConn(hardErr(amqp091.AccessRefused,
				"Login was refused using authentication mechanism %s. For details see the broker logfile.", so.Mechanism))
		}
		return fmt.Errorf("%w: user %q", ErrAuthFailed, user)
	}
	c.user = user
	return nil
}

// externalAuthenticator is a Broker that can authenticate SASL EXTERNAL:
// a user named by a verified TLS client certificate, without a password.
type externalAuthenticator interface {
	// AuthenticateExternal checks that user exists and may connect from
	// remote; errors wrap ErrAuthFailed.
	AuthenticateExternal(user string, remote net.Addr) error
}

// tlsHandshake completes the TLS handshake of an amqps connection
// (within the handshake timeout) and notes the user its verified client
// certificate names: the subject's CN, as RabbitMQ's
// rabbitmq_auth_mechanism_ssl with ssl_cert_login_from = common_name.
func (c *conn) tlsHandshake() error {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	st := tc.ConnectionState()
	if _, ok := c.s.broker.(externalAuthenticator); ok && len(st.VerifiedChains) > 0 {
		c.certUser = st.PeerCertificates[0].Subject.CommonName
	}
	return nil
}

// mechanisms lists the SASL mechanisms offered: EXTERNAL only to a TLS
// client whose certificate verified (RabbitMQ offers it then only too).
func (c *conn) mechanisms() string {
	if c.certUser != "" {
		return "PLAIN AMQPLAIN EXTERNAL"
	}
	return "PLAIN AMQPLAIN"
}

// parsePlain decodes a SASL PLAIN response: [authzid] NUL user NUL pass.
// RFC 4616.
func parsePlain(resp string) (user, pass string, ok bool) {
	b := []byte(resp)
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", "", false
	}
	rest := b[i+1:]
	j := bytes.IndexByte(rest, 0)
	if j < 0 {
		return "", "", false
	}
	return string(rest[:j]), string(rest[j+1:]), true
}

// parseAMQPlain decodes an AMQPLAIN response: a field table without its
// length, holding LOGIN and PASSWORD.
func parseAMQPlain(resp string) (user, pass string, ok bool) {
	t, err := amqp091.DecodeTable([]byte(resp))
	if err != nil {
		return "", "", false
	}
	u, ok1 := t.Get("LOGIN")
	p, ok2 := t.Get("PASSWORD")
	us, ok3 := u.(string)
	ps, ok4 := p.(string)
	return us, ps, ok1 && ok2 && ok3 && ok4
}

// readClientProps notes the client capabilities the server acts on.
func (c *conn) readClientProps(t message.Table) {
	if v, ok := t.Get("capabilities"); ok {
		if caps, ok := v.(message.Table); ok {
			if b, ok := caps.Get("consumer_cancel_notify"); ok {
				c.clientProps.cancelNotify, _ = b.(bool)
			}
			if b, ok := caps.Get("authentication_failure_close"); ok {
				c.clientProps.authFailureClose, _ = b.(bool)
			}
			if b, ok := caps.Get("connection.blocked"); ok {
				c.clientProps.blockedNotify, _ = b.(bool)
			}
		}
	}
	if v, ok := t.Get("connection_name"); ok {
		if s, ok := v.(string); ok {
			c.logp.Store(c.log().With("name", s))
		}
	}
}

// tune sends connection.tune and validates tune-ok as RabbitMQ does: a
// client may lower the limits, not raise them, and frame_max may not go
// below 4096.
func (c *conn) tune() error {
	cfg := &c.s.cfg
	c.send(0, &amqp091.ConnectionTune{
		ChannelMax: cfg.ChannelMax,
		FrameMax:   cfg.FrameMax,
		Heartbeat:  uint16(cfg.Heartbeat / time.Second),
	})
	tok, err := expect[*amqp091.ConnectionTuneOk](c)
	if err != nil {
		return err
	}
	if re := negotiate("channel_max", 0, uint32(cfg.ChannelMax), uint32(tok.ChannelMax)); re != nil {
		c.closeConn(re)
		return re
	}
	if re := negotiate("frame_max", frameMinSize, cfg.FrameMax, tok.FrameMax); re != nil {
		c.closeConn(re)
		return re
	}
	c.frameMax, c.chanMax = tok.FrameMax, tok.ChannelMax
	c.r.SetFrameMax(tok.FrameMax)
	c.hbNanos.Store(int64(time.Duration(tok.Heartbeat) * time.Second))
	c.wmu.Lock()
	c.w.FrameMax = tok.FrameMax
	c.wmu.Unlock()
	return nil
}

// negotiate checks a client's tune-ok value as rabbit_reader's
// validate_negotiated_integer_value does.
func negotiate(field string, lo, server, client uint32) *replyError {
	detail := ""
	if field == "channel_max" && client == 0 {
		detail = " (no limit)"
	}
	switch {
	case client != 0 && client < lo:
		return hardErr(amqp091.NotAllowed, "negotiated %s = %d%s is lower than the minimum allowed value (%d)",
			field, client, detail, lo)
	case server != 0 && (client == 0 || client > server):
		return hardErr(amqp091.NotAllowed, "negotiated %s = %d%s is higher than the maximum allowed value (%d)",
			field, client, detail, server)
	}
	return nil
}
