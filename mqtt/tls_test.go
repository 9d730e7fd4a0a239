package mqtt_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

// testCA issues certificates for tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a certificate for cn, usable by servers (127.0.0.1) and
// clients.
func (ca *testCA) issue(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serveTLS adds an MQTTS listener on 127.0.0.1:0 to tb.
func serveTLS(t *testing.T, tb *testBroker, tc *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = tb.srv.ServeTLS(ln, tc) }()
	return ln.Addr().String()
}

// dialTLS connects an MQTT 3.1.1 client over TLS.
func dialTLS(addr, id, user, pass string, tc *tls.Config) (paho3.Client, error) {
	o := paho3.NewClientOptions().AddBroker("ssl://" + addr).SetClientID(id).
		SetUsername(user).SetPassword(pass).SetTLSConfig(tc).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
	c := paho3.NewClient(o)
	tok := c.Connect()
	tok.WaitTimeout(10 * time.Second)
	if err := tok.Error(); err != nil {
		return nil, err
	}
	return c, nil
}

func TestTLS(t *testing.T) {
	ca := newTestCA(t)
	tb := startBroker(t, mqtt.Config{CertLogin: true})
	addr := serveTLS(t, tb, &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "127.0.0.1")},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.pool, MinVersion: tls.VersionTLS12})

	t.Run("password", func(t *testing.T) {
		in := &inbox{}
		c, err := dialTLS(addr, "tls-pw", "guest", "guest", &tls.Config{RootCAs: ca.pool})
		require.NoError(t, err)
		defer c.Disconnect(0)
		c.AddRoute("tls/#", in.on3)
		wait(t, c.Subscribe("tls/#", 1, nil))
		wait(t, c.Publish("tls/t", 1, false, "secure"))
		require.Equal(t, "secure", string(in.wait3(t, 1)[0].Payload()))
	})
	t.Run("untrusted server", func(t *testing.T) {
		_, err := dialTLS(addr, "tls-bad", "guest", "guest", &tls.Config{RootCAs: x509.NewCertPool()})
		require.Error(t, err)
	})
	t.Run("client certificate names the user", func(t *testing.T) {
		c, err := dialTLS(addr, "tls-cert", "", "", &tls.Config{RootCAs: ca.pool,
			Certificates: []tls.Certificate{ca.issue(t, "guest")}})
		require.NoError(t, err)
		defer c.Disconnect(0)
		wait(t, c.Publish("tls/cert", 1, false, "by cert"))
	})
	t.Run("no certificate, no username", func(t *testing.T) {
		_, err := dialTLS(addr, "tls-anon", "", "", &tls.Config{RootCAs: ca.pool})
		require.Error(t, err) // anonymous access is off: CONNACK 0x04
	})
	t.Run("unknown certificate user", func(t *testing.T) {
		_, err := dialTLS(addr, "tls-nobody", "", "", &tls.Config{RootCAs: ca.pool,
			Certificates: []tls.Certificate{ca.issue(t, "nobody")}})
		require.Error(t, err)
	})
}
