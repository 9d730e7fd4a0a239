package mqtt_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/mqtt"
	"github.com/junctionmq/junction/persist"
)

const crashDirEnv = "JUNCTION_MQTT_CRASH_DIR"

// crashChild runs a broker on the data directory dir, prints its address
// and serves until it is killed.
func crashChild(dir string) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := persist.Open(dir, persist.Options{GCInterval: -1, Logger: log})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(dir, "auth.key")}})
	if err != nil {
		fmt.Println("core:", err)
		os.Exit(2)
	}
	srv, err := mqtt.New(b, mqtt.Config{}, log)
	if err != nil {
		fmt.Println("mqtt:", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(2)
	}
	fmt.Printf("addr %s\n", ln.Addr())
	_ = srv.Serve(ln)
	os.Exit(0)
}

// startCrashChild re-execs the test binary as a broker on dir.
func startCrashChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPubackDurableAcrossKill$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "addr "); ok {
				lines <- a
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case addr := <-lines:
		return cmd, addr
	case <-time.After(30 * time.Second):
		t.Fatal("broker child did not start")
		return nil, ""
	}
}

// TestPubackDurableAcrossKill checks that a PUBACK means the copy queued
// for an offline persistent session is on disk: the broker is killed with
// SIGKILL while QoS 1 messages stream in, restarted on the same data
// directory, and the subscriber, reconnecting to its session, receives
// every message that was acknowledged.
func TestPubackDurableAcrossKill(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("re-execs the test binary")
	}
	dir := t.TempDir()
	child, addr := startCrashChild(t, dir)

	sub, err := dial3(t, addr, "crash-sub", "guest", "guest", false, nil)
	require.NoError(t, err)
	wait(t, sub.Subscribe("crash/t", 1, nil))
	sub.Disconnect(100)

	acked := publishUntilKilled(t, addr, child, 300)
	require.GreaterOrEqual(t, len(acked), 300)

	_, addr = startCrashChild(t, dir)
	var mu sync.Mutex // guards got
	got := map[string]bool{}
	_, err = dial3(t, addr, "crash-sub", "guest", "guest", false, func(_ paho3.Client, m paho3.Message) {
		mu.Lock()
		got[string(m.Payload())] = true
		mu.Unlock()
	})
	require.NoError(t, err)
	missing := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for p := range acked {
			if !got[p] {
				out = append(out, p)
			}
		}
		return out
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	m := missing()
	require.Empty(t, m, "%d of %d acknowledged messages lost", len(m), len(acked))
}

// publishUntilKilled publishes QoS 1 messages (at most 64 unacknowledged)
// and kills the broker child once n have been acknowledged, then returns
// the payloads that were.
func publishUntilKilled(t *testing.T, addr string, child *exec.Cmd, n int) map[string]bool {
	t.Helper()
	pub, err := dial3(t, addr, "crash-pub", "guest", "guest", true, nil)
	require.NoError(t, err)
	type sent struct {
		payload string
		tok     paho3.Token
	}
	toks := make(chan sent, 64) // the window
	acked := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		killed := false
		for s := range toks {
			if !s.tok.WaitTimeout(30*time.Second) || s.tok.Error() != nil {
				continue
			}
			acked[s.payload] = true
			if len(acked) >= n && !killed {
				killed = true
				if err := child.Process.Signal(syscall.SIGKILL); err != nil {
					t.Error(err)
				}
				_ = child.Wait()
			}
		}
	}()
	for i := 0; ; i++ {
		p := fmt.Sprintf("m-%06d", i)
		tok := pub.Publish("crash/t", 1, false, p)
		toks <- sent{p, tok}
		if !pub.IsConnectionOpen() || i > 1_000_000 {
			break
		}
	}
	close(toks)
	<-done
	return acked
}
