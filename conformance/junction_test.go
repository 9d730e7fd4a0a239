// Package conformance_test runs third-party clients and test suites
// against a real junction binary: the amqp091-go module's own integration
// suite, Debian's python3-pika and amqp-tools. TestMain builds
// bin/junction, starts it on free loopback ports with a temporary data
// directory and stops it at the end (JUNCTION_BIN names a prebuilt
// binary to test instead). See README.md for the figures.
package conformance_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
)

// broker is the junction child process the tests talk to.
var broker struct {
	amqpAddr string // 127.0.0.1:port
	mgmtAddr string
	amqpURL  string // amqp://guest:guest@127.0.0.1:port/
	root     string // the repository
	bin      string // the junction binary
	logPath  string // the broker's stderr
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run builds and starts the broker, runs the tests and stops it.
func run(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	broker.root = root
	bin := os.Getenv("JUNCTION_BIN") // a prebuilt binary, e.g. a release
	if bin == "" {
		bin = filepath.Join(root, "bin", "junction")
		build := exec.Command("go", "build", "-o", bin, "./cmd/junction")
		build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "conformance: building bin/junction:", err)
			return 2
		}
	}
	broker.bin = bin
	tmp, err := os.MkdirTemp("", "junction-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(tmp)
	cmd, err := startBroker(bin, tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 2
	}
	code := m.Run()
	if err := stopBroker(cmd); err != nil {
		fmt.Fprintln(os.Stderr, "conformance: stopping junction:", err)
		code = max(code, 1)
	}
	if code != 0 {
		if log, err := os.ReadFile(broker.logPath); err == nil && len(log) > 0 {
			fmt.Fprintf(os.Stderr, "--- junction log (%s) ---\n%s", broker.logPath, tail(log, 8<<10))
		}
	}
	return code
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// freePort returns a loopback port nobody listens on right now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startBroker starts junction with AMQP and management on free loopback
// ports and every other listener off, and waits until it answers.
func startBroker(bin, dir string) (*exec.Cmd, error) {
	var err error
	if broker.amqpAddr, err = freePort(); err != nil {
		return nil, err
	}
	if broker.mgmtAddr, err = freePort(); err != nil {
		return nil, err
	}
	broker.amqpURL = "amqp://guest:guest@" + broker.amqpAddr + "/"
	broker.logPath = filepath.Join(dir, "junction.log")
	logf, err := os.Create(broker.logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--data-dir", filepath.Join(dir, "data"),
		"--amqp-listen", broker.amqpAddr, "--mgmt-listen", broker.mgmtAddr,
		"--amqps-listen=", "--mqtt-listen=", "--mqtts-listen=", "--mqtt-ws-listen=",
		"--aws-listen=", "--metrics-listen=", "--log-level", "info")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	logf.Close()
	if err := waitReady(cmd); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	return cmd, nil
}

// waitReady polls until our junction answers on both ports. It checks the
// AMQP server's product property, so that a stray RabbitMQ on the same
// port is never mistaken for it.
func waitReady(cmd *exec.Cmd) error {
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		if cmd.ProcessState != nil {
			return fmt.Errorf("junction exited: %v", cmd.ProcessState)
		}
		last = probe()
		if last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("junction did not become ready on %s: %v (log: %s)", broker.amqpAddr, last, broker.logPath)
}

func probe() error {
	c, err := rmq.Dial(broker.amqpURL)
	if err != nil {
		return err
	}
	defer c.Close()
	if p := c.Properties["product"]; p != "Junction" {
		return fmt.Errorf("%s is not junction: product %v", broker.amqpAddr, p)
	}
	resp, err := http.Get("http://" + broker.mgmtAddr + "/api/connections")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("management on %s answered %s without credentials", broker.mgmtAddr, resp.Status)
	}
	return nil
}

// stopBroker sends SIGTERM, as an operator would, and kills the process
// if it has not exited after 15 s.
func stopBroker(cmd *exec.Cmd) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("junction did not exit within 15s of SIGTERM")
	}
}

// dial connects an amqp091-go client to the broker.
func dial(t *testing.T) *rmq.Connection {
	t.Helper()
	c, err := rmq.Dial(broker.amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// command runs name with args, bounded by timeout, and returns its
// combined output.
func command(t *testing.T, timeout time.Duration, env []string, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	return cmd.CombinedOutput()
}
