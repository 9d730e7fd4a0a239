package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate and its key as PEM files in
// a temp dir and returns their paths.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func TestTLS(t *testing.T) {
	cert, key := selfSigned(t)
	for _, tt := range []struct{ cert, key string }{{"", ""}, {cert, ""}, {"", key}} {
		tc, err := TLS(tt.cert, tt.key, "")
		if tc != nil || err != nil {
			t.Errorf("TLS(%q, %q) = %v, %v; want nil, nil", tt.cert, tt.key, tc, err)
		}
	}
	tc, err := TLS(cert, key, "")
	if err != nil {
		t.Fatal(err)
	}
	if tc.MinVersion != tls.VersionTLS12 || len(tc.Certificates) != 1 || tc.ClientAuth != tls.NoClientCert {
		t.Errorf("TLS without CA = %+v", tc)
	}
	tc, err = TLS(cert, key, cert)
	if err != nil {
		t.Fatal(err)
	}
	if tc.ClientAuth != tls.VerifyClientCertIfGiven || tc.ClientCAs == nil {
		t.Errorf("TLS with CA: ClientAuth %v, ClientCAs %v", tc.ClientAuth, tc.ClientCAs)
	}
	if _, err := TLS(cert, cert, ""); err == nil {
		t.Error("TLS with a certificate as key: no error")
	}
	if _, err := TLS(cert, key, key); err == nil {
		t.Error("TLS with a key as CA: no error")
	}
	if _, err := TLS(cert, key, filepath.Join(t.TempDir(), "none.pem")); err == nil {
		t.Error("TLS with a missing CA: no error")
	}
}

func TestListeners(t *testing.T) {
	cert, key := selfSigned(t)
	names := func(ls []Listener) (out []string) {
		for _, l := range ls {
			if l.TLS != nil {
				out = append(out, l.Name+"+tls")
			} else {
				out = append(out, l.Name)
			}
		}
		return out
	}
	tests := []struct {
		name  string
		flags flagMap
		want  []string
	}{
		{"defaults: no TLS listeners", nil, []string{"amqp", "mqtt", "mqtt-ws", "aws", "mgmt", "metrics"}},
		{"shared cert: amqps and mqtts, mgmt stays plain", flagMap{"tls-cert": cert, "tls-key": key, "amqp-listen": "", "metrics-listen": ""},
			[]string{"amqps+tls", "mqtt", "mqtts+tls", "mqtt-ws", "aws", "mgmt"}},
		{"per-listener cert", flagMap{"mqtts-tls-cert": cert, "mqtts-tls-key": key, "mgmt-tls-cert": cert, "mgmt-tls-key": key},
			[]string{"amqp", "mqtt", "mqtts+tls", "mqtt-ws", "aws", "mgmt+tls", "metrics"}},
		{"all off", flagMap{"amqp-listen": "", "mqtt-listen": "", "mqtt-ws-listen": "", "aws-listen": "", "mgmt-listen": "", "metrics-listen": ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.flags, nil)
			if err != nil {
				t.Fatal(err)
			}
			ls, err := c.Listeners()
			if err != nil {
				t.Fatal(err)
			}
			if got := names(ls); !slices.Equal(got, tt.want) {
				t.Errorf("listeners = %v, want %v", got, tt.want)
			}
		})
	}
	c, err := Load(flagMap{"amqps-tls-cert": cert, "amqps-tls-key": cert}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Listeners(); err == nil {
		t.Error("Listeners with a bad amqps key: no error")
	}
}
