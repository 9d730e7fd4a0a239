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
	"testing"
	"time"
)

// mqttBroker is a junction child process serving MQTT only, started by
// the MQTT tests themselves so that they depend on nothing else in the
// package.
type mqttBroker struct {
	*child
	host string
	port string
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

// startMQTTBroker starts junction with only its MQTT listener
// (startChild); extra are more serve flags.
func startMQTTBroker(t *testing.T, extra ...string) *mqttBroker {
	t.Helper()
	c := startChild(t, "mqtt", extra...)
	b := &mqttBroker{child: c}
	b.host, b.port, _ = net.SplitHostPort(c.addr)
	return b
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
