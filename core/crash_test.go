package core

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

const crashChildEnv = "JUNCTION_CORE_CRASH_CHILD"

// TestCrashChild is the child process of TestCrashKeepsConfirmed: it
// publishes persistent messages to a durable queue as fast as confirms come
// back, printing "confirmed N" for each confirm, and acknowledges every
// third confirmed message, printing "acked N" once the ack is on disk.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("child of TestCrashKeepsConfirmed")
	}
	b, _ := openBroker(t, dir)
	v, _ := b.Vhost("/")
	q, _, err := v.DeclareQueue(QueueDecl{Name: "crash", Durable: true})
	require.NoError(t, err)
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex // guards out
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
		mu.Unlock()
	}
	window := make(chan struct{}, 256)
	for i := 0; ; i++ {
		window <- struct{}{}
		m := msg("", "crash", strconv.Itoa(i), true)
		_, err := v.Publish(m, func(ack bool) {
			if ack {
				say("confirmed %d", i)
			}
			<-window
		})
		require.NoError(t, err)
		if i%3 == 0 && i > 0 {
			// Take the oldest ready message and ack it, durably.
			if d, ok := q.Get(false); ok {
				say("acking %s", d.Msg.Body)
				require.NoError(t, q.Ack(d.Seq))
				require.NoError(t, b.Store().Flush())
				say("acked %s", d.Msg.Body)
			}
		}
	}
}

// TestCrashKeepsConfirmed kills a publishing child with SIGKILL mid-stream,
// restarts on its data directory and checks that every confirmed message is
// there exactly once, in order, and that no durably acked one came back.
func TestCrashKeepsConfirmed(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	// acking: an ack was started, so the message may or may not be gone;
	// acked: the ack is on disk, so the message must not come back.
	confirmed, acking, acked := map[int]bool{}, map[int]bool{}, map[int]bool{}
	sc := bufio.NewScanner(stdout)
	read := func() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			return
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return
		}
		switch f[0] {
		case "confirmed":
			confirmed[n] = true
		case "acking":
			acking[n] = true
		case "acked":
			acked[n] = true
		}
	}
	for len(confirmed) < 3000 && sc.Scan() {
		read()
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	// What the child printed before it died is still in the pipe: an
	// "acking" line there means that message may be gone.
	for sc.Scan() {
		read()
	}
	_ = cmd.Wait()
	require.Greater(t, len(confirmed), 100, "child confirmed too little before the kill")

	b, st := openBroker(t, dir)
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	q, err := v.Queue("crash")
	require.NoError(t, err)
	seen := map[int]bool{}
	last := -1
	for {
		d, ok := q.Get(true)
		if !ok {
			break
		}
		n, err := strconv.Atoi(string(d.Msg.Body))
		require.NoError(t, err)
		require.False(t, seen[n], "message %d recovered twice", n)
		require.Greater(t, n, last, "message %d out of order", n)
		require.False(t, acked[n], "acked message %d came back", n)
		seen[n], last = true, n
	}
	for n := range confirmed {
		if !acking[n] {
			require.True(t, seen[n], "confirmed message %d lost", n)
		}
	}
	t.Logf("confirmed %d, acked %d, recovered %d", len(confirmed), len(acked), len(seen))
}
