package conformance_test

// TLS on every listener (issue 9), against the built binary: AMQPS, MQTTS,
// MQTT over secure WebSocket, the AWS gateway (TLS on its one port), the
// management API and the Prometheus endpoint each serve a real client
// over TLS with a certificate of a CA the test makes, refuse a client that
// offers only TLS 1.1, and (AMQP) log a client certificate in with SASL
// EXTERNAL as the certificate's CN.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	paho3 "github.com/eclipse/paho.mqtt.golang"
	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCA is a throwaway certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "junction test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a certificate for cn: a server certificate for 127.0.0.1
// and localhost, or a client certificate.
func (ca *testCA) issue(t *testing.T, cn string, server bool) (tls.Certificate, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses, tmpl.DNSNames = []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	return pair, certPEM, keyPEM
}

// tlsListeners are the listeners the TLS test turns on, all over TLS.
var tlsListeners = []string{"amqps", "mqtts", "mqtt-wss", "aws", "mgmt", "metrics"}

// startTLSChild starts the binary with every TLS listener on a free
// loopback port, certificates from ca, client certificates verified
// against ca, and user alice (no password; all permissions on "/") from a
// definitions file. It returns the address of each listener.
func startTLSChild(t *testing.T, ca *testCA) map[string]string {
	t.Helper()
	bin, err := mqttBinary()
	require.NoError(t, err)
	dir := t.TempDir()
	_, certPEM, keyPEM := ca.issue(t, "127.0.0.1", true)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	cert, key, caFile := write("cert.pem", certPEM), write("key.pem", keyPEM), write("ca.pem", ca.pem)
	defs := write("defs.json", []byte(`{"users":[{"name":"alice","password_hash":"","tags":[]}],`+
		`"permissions":[{"user":"alice","vhost":"/","configure":".*","write":".*","read":".*"}]}`))
	args := []string{"serve", "--data-dir", filepath.Join(dir, "data"), "--log-level", "info",
		"--tls-cert", cert, "--tls-key", key, "--tls-ca", caFile, "--mgmt-tls-cert", cert, "--mgmt-tls-key", key,
		"--metrics-tls-cert", cert, "--metrics-tls-key", key, "--definitions", defs, "--mqtt-cert-login",
		"--amqp-listen=", "--mqtt-listen=", "--mqtt-ws-listen="}
	addrs := map[string]string{}
	for _, l := range tlsListeners {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addrs[l] = ln.Addr().String()
		ln.Close()
		args = append(args, "--"+l+"-listen", addrs[l])
	}
	logPath := filepath.Join(dir, "junction.log")
	logf, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Start()
	logf.Close()
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("junction log:\n%s", tail(out, 16<<10))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for _, l := range tlsListeners {
		// The AWS gateway sniffs TLS itself: its listener is plain.
		want := []byte("listener=" + l + " addr=" + addrs[l] + " tls=true")
		if l == "aws" {
			want = []byte("listener=aws addr=" + addrs[l] + " tls=false")
		}
		for {
			out, _ := os.ReadFile(logPath)
			if bytes.Contains(out, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("junction did not start %s over TLS on %s:\n%s", l, addrs[l], out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return addrs
}

func TestTLSEveryListener(t *testing.T) {
	ca := newTestCA(t)
	addrs := startTLSChild(t, ca)
	roots := &tls.Config{RootCAs: ca.pool}
	alice, _, _ := ca.issue(t, "alice", false)
	withCert := &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{alice}}
	httpsClient := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: roots}}

	t.Run("TLS 1.2 or later only", func(t *testing.T) {
		for _, l := range tlsListeners {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addrs[l],
				&tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
			if err == nil {
				c.Close()
			}
			assert.Error(t, err, "%s accepted a TLS 1.1 client", l)
			c, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addrs[l], roots)
			if assert.NoError(t, err, l) {
				assert.GreaterOrEqual(t, c.ConnectionState().Version, uint16(tls.VersionTLS12), l)
				c.Close()
			}
		}
	})
	t.Run("amqps", func(t *testing.T) {
		c, err := rmq.DialTLS("amqps://guest:guest@"+addrs["amqps"]+"/", roots)
		require.NoError(t, err)
		defer c.Close()
		ch, err := c.Channel()
		require.NoError(t, err)
		_, err = ch.QueueDeclare("tls-q", false, true, false, false, nil)
		require.NoError(t, err)
	})
	t.Run("amqps EXTERNAL with a client certificate", func(t *testing.T) {
		c, err := rmq.DialTLS_ExternalAuth("amqps://"+addrs["amqps"]+"/", withCert)
		require.NoError(t, err)
		defer c.Close()
		ch, err := c.Channel()
		require.NoError(t, err)
		_, err = ch.QueueDeclare("alice-q", false, true, false, false, nil)
		require.NoError(t, err)
		unknown, _, _ := ca.issue(t, "mallory", false)
		_, err = rmq.DialTLS_ExternalAuth("amqps://"+addrs["amqps"]+"/",
			&tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{unknown}})
		var e *rmq.Error
		require.ErrorAs(t, err, &e, "a certificate of an unknown user")
		assert.Equal(t, 403, e.Code)
	})
	mqttDial := func(t *testing.T, broker, user string, tc *tls.Config) (paho3.Client, error) {
		o := paho3.NewClientOptions().AddBroker(broker).SetClientID("tls-" + broker[:4]).
			SetUsername(user).SetPassword(user).SetTLSConfig(tc).
			SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(10 * time.Second)
		c := paho3.NewClient(o)
		tok := c.Connect()
		require.True(t, tok.WaitTimeout(20*time.Second))
		return c, tok.Error()
	}
	mqttConnect := func(t *testing.T, broker string) {
		c, err := mqttDial(t, broker, "guest", roots)
		require.NoError(t, err)
		defer c.Disconnect(0)
		got := make(chan string, 1)
		sub := c.Subscribe("tls/x", 1, func(_ paho3.Client, m paho3.Message) { got <- string(m.Payload()) })
		require.True(t, sub.WaitTimeout(20*time.Second))
		require.NoError(t, sub.Error())
		pub := c.Publish("tls/x", 1, false, "over tls")
		require.True(t, pub.WaitTimeout(20*time.Second))
		require.NoError(t, pub.Error())
		select {
		case m := <-got:
			assert.Equal(t, "over tls", m)
		case <-time.After(20 * time.Second):
			t.Fatal("no message over", broker)
		}
	}
	t.Run("mqtts", func(t *testing.T) { mqttConnect(t, "ssl://"+addrs["mqtts"]) })
	t.Run("mqtt wss", func(t *testing.T) { mqttConnect(t, "wss://"+addrs["mqtt-wss"]+"/ws") })
	t.Run("mqtts client certificate names the user", func(t *testing.T) {
		// mqtt-cert-login: no username, the certificate's CN (alice).
		c, err := mqttDial(t, "ssl://"+addrs["mqtts"], "", withCert)
		require.NoError(t, err)
		c.Disconnect(0)
		mallory, _, _ := ca.issue(t, "mallory", false)
		_, err = mqttDial(t, "ssl://"+addrs["mqtts"], "",
			&tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{mallory}})
		assert.Error(t, err, "a certificate of an unknown user")
		_, err = mqttDial(t, "ssl://"+addrs["mqtts"], "", roots)
		assert.Error(t, err, "no certificate, no username")
	})
	t.Run("aws https", func(t *testing.T) {
		cfg := aws.Config{Region: "us-east-1", HTTPClient: httpsClient, RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
		c := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String("https://" + addrs["aws"]) })
		out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("tls-q")})
		require.NoError(t, err)
		assert.Contains(t, aws.ToString(out.QueueUrl), "https://", "URLs follow the scheme of the request")
	})
	httpsGet := func(t *testing.T, url string, basic bool) (int, string) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		require.NoError(t, err)
		if basic {
			req.SetBasicAuth("guest", "guest")
		}
		resp, err := httpsClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	t.Run("management https", func(t *testing.T) {
		code, body := httpsGet(t, "https://"+addrs["mgmt"]+"/api/overview", true)
		assert.Equal(t, http.StatusOK, code, body)
		code, body = httpsGet(t, "https://"+addrs["mgmt"]+"/api/overview", false)
		assert.Equal(t, http.StatusUnauthorized, code, body)
	})
	t.Run("metrics https", func(t *testing.T) {
		code, body := httpsGet(t, "https://"+addrs["metrics"]+"/metrics", false)
		assert.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, "go_goroutines")
	})
	t.Run("plain http is not served", func(t *testing.T) {
		for _, l := range []string{"mgmt", "metrics"} {
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addrs[l] + "/")
			if err == nil {
				resp.Body.Close()
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s answers plain HTTP", l)
			}
		}
	})
}
