package conformance_test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// allListeners are the serve flags of every listener; startChild turns all
// but the one under test off.
var allListeners = []string{"amqp", "amqps", "mqtt", "mqtts", "mqtt-ws", "aws", "mgmt", "metrics"}

// child is a junction process started by a test, serving one listener on
// a free loopback port with a temporary data directory.
type child struct {
	addr string // 127.0.0.1:port
	dir  string // the test's temporary directory (data in dir/data)
	log  string // the broker's combined output
	pid  int    // the broker's process id
}

// startChild starts the junction binary with only listener (a name of
// allListeners) on, stops it with SIGTERM when the test ends (killing it
// after 15 s) and shows the end of its log if the test failed. It returns
// once the broker's log says that listener is up on the chosen address,
// so that another broker that grabbed the port is never taken for it.
func startChild(t *testing.T, listener string, extra ...string) *child {
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
	c := &child{addr: addr, dir: dir, log: filepath.Join(dir, "junction.log")}
	logf, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--data-dir", filepath.Join(dir, "data"), "--log-level", "info"}
	for _, l := range allListeners {
		if l == listener {
			args = append(args, "--"+l+"-listen", addr)
		} else {
			args = append(args, "--"+l+"-listen=")
		}
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Start()
	logf.Close()
	if err != nil {
		t.Fatal(err)
	}
	c.pid = cmd.Process.Pid
	t.Cleanup(func() { c.stop(t, cmd) })
	c.waitReady(t, listener)
	return c
}

func (c *child) stop(t *testing.T, cmd *exec.Cmd) {
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
		out, _ := os.ReadFile(c.log)
		if len(out) > 16<<10 {
			out = out[len(out)-16<<10:]
		}
		t.Logf("junction log:\n%s", out)
	}
}

// waitReady polls until the log says listener is up on c.addr and the
// port accepts connections.
func (c *child) waitReady(t *testing.T, listener string) {
	t.Helper()
	want := []byte("listener=" + listener + " addr=" + c.addr)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if out, _ := os.ReadFile(c.log); bytes.Contains(out, want) {
			if conn, err := net.Dial("tcp", c.addr); err == nil {
				conn.Close()
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ := os.ReadFile(c.log)
	t.Fatalf("junction did not start %s on %s:\n%s", listener, c.addr, out)
}
