package amqp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"

	"github.com/junctionmq/junction/amqp"
)

// testCA is a self-signed CA that issues the test's certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "junction test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a leaf certificate for cn: a server one for 127.0.0.1,
// or a client one.
func (ca *testCA) issue(t *testing.T, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"junction"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// startTLSServer serves amqps on 127.0.0.1:0 as cmd/junction does: a TLS
// listener that verifies client certificates if given.
func startTLSServer(t *testing.T, ca *testCA) (*testServer, string) {
	t.Helper()
	ts := startServer(t, amqp.Config{})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ca.issue(t, "127.0.0.1", true)},
		ClientCAs: ca.pool, ClientAuth: tls.VerifyClientCertIfGiven,
	})
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.Serve(ln)
	return ts, ln.Addr().String()
}

func dialTLS(t *testing.T, url string, cfg *tls.Config, external bool) (*rmq.Connection, error) {
	t.Helper()
	var c *rmq.Connection
	var err error
	if external {
		c, err = rmq.DialTLS_ExternalAuth(url, cfg)
	} else {
		c, err = rmq.DialTLS(url, cfg)
	}
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func TestTLS(t *testing.T) {
	ca := newTestCA(t)
	ts, addr := startTLSServer(t, ca)
	users := ts.broker.Users()
	if err := users.AddUser("alice", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := users.SetPermissions("alice", "/", ".*", ".*", ".*"); err != nil {
		t.Fatal(err)
	}
	roots := &tls.Config{RootCAs: ca.pool}
	withCert := func(cn string) *tls.Config {
		return &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{ca.issue(t, cn, false)}}
	}

	t.Run("plain over tls", func(t *testing.T) {
		c, err := dialTLS(t, "amqps://guest:guest@"+addr+"/", roots, false)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c, "tls-q")
	})
	t.Run("no external without a client certificate", func(t *testing.T) {
		_, err := dialTLS(t, "amqps://"+addr+"/", roots, true)
		if !errors.Is(err, rmq.ErrSASL) {
			t.Fatalf("got %v, want ErrSASL (EXTERNAL not offered)", err)
		}
	})
	t.Run("external with a client certificate", func(t *testing.T) {
		c, err := dialTLS(t, "amqps://"+addr+"/", withCert("alice"), true)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c, "alice-q")
		var found bool
		for _, cs := range ts.srv.Connections() {
			if cs.User == "alice" && cs.AuthMechanism == "EXTERNAL" && cs.TLS {
				found = true
			}
		}
		if !found {
			t.Fatalf("no EXTERNAL connection of alice in %+v", ts.srv.Connections())
		}
	})
	t.Run("external for an unknown user", func(t *testing.T) {
		_, err := dialTLS(t, "amqps://"+addr+"/", withCert("mallory"), true)
		var e *rmq.Error
		if !errors.As(err, &e) || e.Code != 403 {
			t.Fatalf("got %v, want 403 ACCESS_REFUSED", err)
		}
	})
	t.Run("plain with a client certificate", func(t *testing.T) {
		c, err := dialTLS(t, "amqps://guest:guest@"+addr+"/", withCert("alice"), false)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c, "guest-q")
	})
}

// roundTrip declares a queue, publishes to it and consumes the message.
func roundTrip(t *testing.T, c *rmq.Connection, q string) {
	t.Helper()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(q, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ch.PublishWithContext(ctx, "", q, false, false, rmq.Publishing{Body: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.Consume(q, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := recv(t, ds); string(d.Body) != "hello" {
		t.Fatalf("got %q", d.Body)
	}
}
