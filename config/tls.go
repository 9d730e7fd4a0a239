package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLS builds a server *tls.Config (TLS 1.2 or later) from PEM files. It
// returns nil and no error unless both certFile and keyFile are set. With
// caFile, client certificates are requested and, if a client sends one,
// verified against that CA.
func TLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s, key %s: %w", certFile, keyFile, err)
	}
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if caFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls-ca %s: %w", caFile, errors.New("no PEM certificates found"))
	}
	tc.ClientCAs = pool
	tc.ClientAuth = tls.VerifyClientCertIfGiven
	return tc, nil
}

// Listener names: the keys of the listener map handed to the broker.
const (
	AMQP    = "amqp"
	AMQPS   = "amqps"
	MQTT    = "mqtt"
	MQTTS   = "mqtts"
	MQTTWS  = "mqtt-ws"
	MQTTWSS = "mqtt-wss"
	AWS     = "aws"
	Mgmt    = "mgmt"
	Metrics = "metrics"
)

// Listener is one enabled listener.
type Listener struct {
	Name    string      // one of AMQP, AMQPS, ...
	Setting string      // the setting of its address, e.g. "amqp-listen"
	Addr    string      // host:port to listen on
	TLS     *tls.Config // nil for a plain listener
}

// Listeners returns the enabled listeners in a fixed order, their TLS
// configuration loaded. A listener is enabled when its address is not
// empty; AMQPS and MQTTS also need a certificate and key (their own or
// tls-cert/tls-key) and are left out without one, as is MQTTWSS without
// tls-cert/tls-key. The management and metrics listeners serve HTTPS only
// with their own mgmt-tls-cert/-key and metrics-tls-cert/-key.
func (c *Config) Listeners() ([]Listener, error) {
	type spec struct {
		name, addr, cert, key string
		needsTLS              bool
	}
	specs := []spec{
		{AMQP, c.AMQPListen, "", "", false},
		{AMQPS, c.AMQPSListen, or(c.AMQPSTLSCert, c.TLSCert), or(c.AMQPSTLSKey, c.TLSKey), true},
		{MQTT, c.MQTTListen, "", "", false},
		{MQTTS, c.MQTTSListen, or(c.MQTTSTLSCert, c.TLSCert), or(c.MQTTSTLSKey, c.TLSKey), true},
		{MQTTWS, c.MQTTWSListen, "", "", false},
		{MQTTWSS, c.MQTTWSSListen, c.TLSCert, c.TLSKey, true},
		{AWS, c.AWSListen, "", "", false},
		{Mgmt, c.MgmtListen, c.MgmtTLSCert, c.MgmtTLSKey, false},
		{Metrics, c.MetricsListen, c.MetricsTLSCert, c.MetricsTLSKey, false},
	}
	var out []Listener
	for _, s := range specs {
		if s.addr == "" || (s.needsTLS && (s.cert == "" || s.key == "")) {
			continue
		}
		tc, err := TLS(s.cert, s.key, c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("%s-listen: %w", s.name, err)
		}
		out = append(out, Listener{Name: s.name, Setting: s.name + "-listen", Addr: s.addr, TLS: tc})
	}
	return out, nil
}

// or returns a unless it is empty, else b.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
