package conformance_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mqttBroker is a junction child process serving MQTT only, started by
// the MQTT tests themselves so that they depend on nothing else in the
// package.
type mqttBroker struct {
	addr string // 127.0.0.1:port
	host string
	port string
	log  string // the broker's combined output
}

var mqttBuild struct {
	once sync.Once
	bin  string
	err  error
}

// mqttBinary returns JUNCTION_BIN or ../bin/junction, building the latter
// once if it is missing.
func mqttBinary() (string, error) {
	mqttBuild.once.Do(func() {
		if bin := os.Getenv("JUNCTION_BIN"); bin != "" {
			mqttBuild.bin = bin
			return
		}
		root, err := filepath.Abs("..")
		if err != nil {
			mqttBuild.err = err
			return
		}
		mqttBuild.bin = filepath.Join(root, "bin", "junction")
		if _, err := os.Stat(mqttBuild.bin); err == nil {
			return
		}
		build := exec.Command("go", "build", "-o", mqttBuild.bin, "./cmd/junction")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			mqttBuild.err = fmt.Errorf("building junction: %v\n%s", err, out)
		}
	})
	return mqttBuild.bin, mqttBuild.err
}

// startMQTTBroker starts junction with only its MQTT listener, on a free
// loopback port, and a temporary data directory; it is stopped with
// SIGTERM when the test ends.
func startMQTTBroker(t *testing.T, extra ...string) *mqttBroker {
	t.Helper()
	bin, err := mqttBinary()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "junction.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--data-dir", filepath.Join(dir, "data"),
		"--mqtt-listen", addr, "--amqp-listen=", "--amqps-listen=", "--mqtts-listen=",
		"--mqtt-ws-listen=", "--aws-listen=", "--mgmt-listen=", "--metrics-listen=",
		"--log-level", "info"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	logf.Close()
	b := &mqttBroker{addr: addr, log: logPath}
	b.host, b.port, _ = net.SplitHostPort(addr)
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
			t.Logf("junction log:\n%s", out)
		}
	})
	b.waitReady(t)
	return b
}

// waitReady polls until junction's log says it listens on b.addr (so that
// another broker that grabbed the port is never mistaken for it) and the
// port accepts connections.
func (b *mqttBroker) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := os.ReadFile(b.log)
		if bytes.Contains(out, []byte("mqtt listening")) && bytes.Contains(out, []byte(b.addr)) {
			if c, err := net.Dial("tcp", b.addr); err == nil {
				c.Close()
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ := os.ReadFile(b.log)
	t.Fatalf("junction did not start MQTT on %s:\n%s", b.addr, out)
}

// needTool skips the test when a command is not installed.
func needTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed (Debian package %s)", name, pkg)
	}
}

// needPython skips the test unless /usr/bin/python3 can import module.
func needPython(t *testing.T, module, pkg string) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import "+module).Run(); err != nil {
		t.Skipf("python3 module %s not installed (Debian package %s)", module, pkg)
	}
}

// run runs a command bounded by timeout and returns its combined output.
func mqttRun(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// mqttStart starts a long-running command (a subscriber) and returns a
// function that waits for it and returns its stdout.
func mqttStart(t *testing.T, timeout time.Duration, name string, args ...string) func() (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return func() (string, error) {
		defer cancel()
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("%s: %w: %s", name, err, errb.String())
		}
		return strings.TrimSpace(out.String()), err
	}
}
