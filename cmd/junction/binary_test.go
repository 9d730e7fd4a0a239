package main

import (
	"bytes"
	"errors"
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

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string // made and removed by TestMain
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "junction-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds the junction command once per test run, with a version
// stamped in through -ldflags as the Makefile does.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	buildOnce.Do(func() {
		binPath = filepath.Join(buildDir, "junction")
		out, err := exec.Command("go", "build", "-ldflags", "-X main.version=9.9.9-test", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

func TestBinaryVersion(t *testing.T) {
	out, err := exec.Command(binary(t), "version").Output()
	if err != nil || string(out) != "junction 9.9.9-test\n" {
		t.Errorf("junction version = %q, %v", out, err)
	}
}

func TestBinaryPortInUse(t *testing.T) {
	bin := binary(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cmd := exec.Command(bin, append(offArgs(t.TempDir()), "--mqtt-listen", freePort(t), "--amqp-listen", taken.Addr().String())...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit: %v, want a non-zero status", err)
	}
	want := "junction: amqp-listen " + taken.Addr().String() + ": address already in use\n"
	if stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

func TestBinarySIGTERM(t *testing.T) {
	bin := binary(t)
	addrs := map[string]string{}
	args := offArgs(t.TempDir())
	for _, l := range []string{"amqp", "mqtt", "mqtt-ws", "aws", "mgmt", "metrics"} {
		addrs[l] = freePort(t)
		args = append(args, "--"+l+"-listen", addrs[l])
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for _, a := range addrs {
		waitDial(t, a)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr %q", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("junction did not exit after SIGTERM")
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Errorf("stderr at the default log level = %q, want nothing", s)
	}
}
