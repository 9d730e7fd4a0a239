package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junctionmq/junction/config"
)

// runApp runs the command line in-process and returns stdout and the error.
func runApp(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := newApp(&stdout, &stderr).RunContext(ctx, append([]string{"junction"}, args...))
	return stdout.String(), err
}

// offArgs turns every listener off except those the caller passes after.
func offArgs(dataDir string) []string {
	return []string{"serve", "--data-dir", dataDir, "--amqp-listen=", "--amqps-listen=", "--mqtt-listen=",
		"--mqtts-listen=", "--mqtt-ws-listen=", "--aws-listen=", "--mgmt-listen=", "--metrics-listen="}
}

func TestVersion(t *testing.T) {
	out, err := runApp(t, context.Background(), "version")
	if err != nil || out != "junction dev\n" {
		t.Errorf("version = %q, %v", out, err)
	}
}

// TestStartErrors checks that each start failure is a one-line error.
func TestStartErrors(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad flag", []string{"serve", "--no-such-flag"}, "flag provided but not defined"},
		{"unknown command", []string{"serf"}, `unknown command "serf"`},
		{"stray argument", []string{"serve", "now"}, `unexpected argument "now"`},
		{"bad value", []string{"serve", "--max-message-size", "lots"}, `max-message-size "lots"`},
		{"missing config file", []string{"serve", "--config", filepath.Join(dir, "none.toml")}, "config file"},
		{"data dir under a file", offArgs(filepath.Join(blocker, "data")), "data-dir " + blocker},
		{"data dir is a file", offArgs(blocker), "data-dir " + blocker},
		{"port in use", append(offArgs(dir), "--mqtt-listen", taken.Addr().String()),
			"mqtt-listen " + taken.Addr().String() + ": address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runApp(t, context.Background(), tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(oneLine(err), "\n") {
				t.Errorf("error %q, want one line containing %q", msg, tt.want)
			}
		})
	}
}

// TestBindAllClosesOnFailure checks that nothing stays bound when a later
// listener cannot bind.
func TestBindAllClosesOnFailure(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free := freePort(t)
	_, err = bindAll([]config.Listener{
		{Name: config.AMQP, Setting: "amqp-listen", Addr: free},
		{Name: config.MQTT, Setting: "mqtt-listen", Addr: taken.Addr().String()},
	})
	if err == nil {
		t.Fatal("bindAll with a taken port: no error")
	}
	ln, err := net.Listen("tcp", free)
	if err != nil {
		t.Fatalf("first listener still bound after failure: %v", err)
	}
	ln.Close()
}

// TestServeUntilCancelled runs serve in-process on free ports and stops it
// by cancelling its context.
func TestServeUntilCancelled(t *testing.T) {
	amqp, mgmt := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := runApp(t, ctx, append(offArgs(t.TempDir()), "--amqp-listen", amqp, "--mgmt-listen", mgmt)...)
		done <- err
	}()
	waitDial(t, amqp)
	waitDial(t, mgmt)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	ln, err := net.Listen("tcp", amqp)
	if err != nil {
		t.Fatalf("amqp port still bound after stop: %v", err)
	}
	ln.Close()
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitDial polls until addr accepts a connection.
func waitDial(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never accepted: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBindAllTLS checks that a listener with a TLS config speaks TLS.
func TestBindAllTLS(t *testing.T) {
	cert, key := selfSigned(t)
	tc, err := config.TLS(cert, key, "")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := bindAll([]config.Listener{{Name: config.AMQPS, Setting: "amqps-listen", Addr: "127.0.0.1:0", TLS: tc}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(ls)
	go func() {
		c, err := ls[config.AMQPS].Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ls[config.AMQPS].Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	if v := c.ConnectionState().Version; v < tls.VersionTLS12 {
		t.Errorf("TLS version %x", v)
	}
	c.Close()
}

// selfSigned writes a throwaway self-signed certificate and key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
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
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}
