package conformance_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// debianAWS is Debian's awscli (2.9, Query protocol for SQS). A pip or
// pyenv `aws` earlier on PATH is deliberately not used.
const debianAWS = "/usr/bin/aws"

// awsPython is Debian's interpreter, where apt's python3-boto3 lives.
const awsPython = "/usr/bin/python3"

// awsBroker is a junction child process serving only the AWS gateway,
// started by each AWS test so that it depends on nothing else in the
// package (and on no queue another test left behind).
type awsBroker struct {
	*child
	endpoint string // http://127.0.0.1:port
	home     string // a temporary HOME for the clients
	caBundle string // PEM file the clients trust (https endpoints), or ""
}

// startAWSBroker starts junction with only its AWS listener (startChild);
// extra are more serve flags.
func startAWSBroker(t *testing.T, extra ...string) *awsBroker {
	t.Helper()
	c := startChild(t, "aws", extra...)
	b := &awsBroker{child: c, endpoint: "http://" + c.addr, home: filepath.Join(c.dir, "home")}
	if err := os.MkdirAll(b.home, 0o755); err != nil {
		t.Fatal(err)
	}
	return b
}

// clientEnv is the environment of every AWS client the tests run: the
// caller's, without any AWS_*, Python or proxy setting that could point a
// client elsewhere (a profile, a CA bundle, a pyenv, an HTTP proxy for
// loopback), plus fixed test credentials, an empty config file and no
// instance metadata.
func (b *awsBroker) clientEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "PYTHON") || name == "HOME" ||
			strings.HasSuffix(strings.ToLower(name), "_proxy") {
			continue
		}
		env = append(env, kv)
	}
	cfg := filepath.Join(b.home, "aws-config")
	_ = os.WriteFile(cfg, nil, 0o600)
	env = append(env, "HOME="+b.home,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+cfg, "AWS_PAGER=",
		"AWS_ENDPOINT_URL="+b.endpoint)
	if b.caBundle != "" {
		env = append(env, "AWS_CA_BUNDLE="+b.caBundle)
	}
	return append(env, extra...)
}

// cliResult is one run of the AWS CLI.
type cliResult struct {
	out, err string // stdout and stderr
	code     int    // exit code
}

// cli runs Debian's aws with args, --endpoint-url and JSON output, and
// returns what it printed and its exit code.
func (b *awsBroker) cli(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args = append([]string{"--endpoint-url", b.endpoint, "--output", "json"}, args...)
	cmd := exec.CommandContext(ctx, debianAWS, args...)
	cmd.Env = b.clientEnv()
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{out: out.String(), err: strings.TrimSpace(errb.String())}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs the CLI, fails the test unless it exits 0, and decodes its JSON
// output (nil when it printed nothing).
func (b *awsBroker) ok(t *testing.T, args ...string) map[string]any {
	t.Helper()
	r := b.cli(t, args...)
	if r.code != 0 {
		t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), r.code, r.err)
	}
	if strings.TrimSpace(r.out) == "" {
		return nil
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, r.out)
	}
	return v
}

// fails runs the CLI and checks that it exits 254 (a service error) with
// the error code and message in its stderr, as the CLI words it.
func (b *awsBroker) fails(t *testing.T, code, message string, args ...string) {
	t.Helper()
	r := b.cli(t, args...)
	want := fmt.Sprintf("An error occurred (%s) when calling the ", code)
	if r.code != 254 || !strings.Contains(r.err, want) || !strings.Contains(r.err, message) {
		t.Fatalf("aws %s: exit %d, stderr %q; want exit 254 with %q and %q",
			strings.Join(args, " "), r.code, r.err, want, message)
	}
}

// awsField walks v along a path of map keys and slice indexes ("Messages",
// 0, "Body") and returns what it finds, or nil.
func awsField(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

// awsStr is awsField as a string ("" when missing or not a string).
func awsStr(v any, path ...any) string {
	s, _ := awsField(v, path...).(string)
	return s
}

// run runs a client program in clientEnv, bounded by timeout, and
// returns its combined output.
func (b *awsBroker) run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = b.clientEnv()
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// needAWSCLI skips the test unless Debian's awscli is installed.
func needAWSCLI(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(debianAWS); err != nil {
		t.Skipf("%s not found: apt-get install awscli (a pip aws on PATH is not used)", debianAWS)
	}
}

// awsSelfSigned writes a self-signed certificate for 127.0.0.1 and its
// key as PEM files in dir and returns their paths.
func awsSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
