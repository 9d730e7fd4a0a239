package awsgw

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"
)

// selfSigned returns a server TLS config for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// sqsClientAt returns an SDK client for endpoint using hc (built
// directly: LoadDefaultConfig would apply an AWS_CA_BUNDLE from the
// environment, which a plain *http.Client cannot take).
func sqsClientAt(endpoint string, hc *http.Client) *sqs.Client {
	return sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 1})
}

// TestTLSAndPlainOnOnePort: with Config.TLS, one port serves https://
// (what `aws --endpoint-url https://...` needs; it failed with
// WRONG_VERSION_NUMBER) and http://, and queue URLs carry the scheme the
// client used. A client that connects and stays silent delays no other.
func TestTLSAndPlainOnOnePort(t *testing.T) {
	tc, pool := selfSigned(t)
	e := newEnv(t, Config{TLS: tc})
	silent, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	require.NoError(t, err)
	defer silent.Close()

	httpsURL := "https://" + strings.TrimPrefix(e.url, "http://")
	secure := sqsClientAt(httpsURL, &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}})
	ctx := context.Background()
	out, err := secure.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("tls-q")})
	require.NoError(t, err)
	require.Equal(t, httpsURL+"/000000000000/tls-q", aws.ToString(out.QueueUrl))
	_, err = secure.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String("over tls")})
	require.NoError(t, err)

	plain := sqsClientAt(e.url, &http.Client{})
	list, err := plain.ListQueues(ctx, &sqs.ListQueuesInput{})
	require.NoError(t, err)
	require.Equal(t, []string{e.url + "/000000000000/tls-q"}, list.QueueUrls)
	got, err := plain.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.url + "/000000000000/tls-q")})
	require.NoError(t, err)
	require.Len(t, got.Messages, 1)
	require.Equal(t, "over tls", aws.ToString(got.Messages[0].Body))

	// HTTP/2 is negotiated over TLS (SubscribeToShard will need it).
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true}}).Get(httpsURL + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
}

// TestSniffListenerClose: Close returns promptly with a connection still
// being sniffed and later Accepts fail with net.ErrClosed.
func TestSniffListenerClose(t *testing.T) {
	tc, _ := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := newSniffListener(ln, tc)
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	time.Sleep(20 * time.Millisecond) // let the accept loop take it
	start := time.Now()
	require.NoError(t, l.Close())
	require.Less(t, time.Since(start), sniffTimeout/2)
	_, err = l.Accept()
	require.ErrorIs(t, err, net.ErrClosed)
}
