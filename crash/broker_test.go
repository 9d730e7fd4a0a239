package crash_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// recoveryBound is how long a restarted broker may take to accept
// connections on every face; past it the suite fails.
const recoveryBound = 30 * time.Second

// addrs are the listen addresses of one broker incarnation.
type addrs struct {
	amqp, mqtt, aws string
}

// broker runs the junction binary on a data directory and kills it.
type broker struct {
	bin, dir string

	mu    sync.Mutex // guards cur, cmd, exit, log, epoch
	cur   addrs
	cmd   *exec.Cmd
	exit  chan struct{} // closed when cmd has exited
	log   *syncBuf      // stderr of the current incarnation
	epoch int           // incremented on each start
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the broker binds it; start then picks new ports.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func freeAddrs() (addrs, error) {
	var a addrs
	for _, p := range []*string{&a.amqp, &a.mqtt, &a.aws} {
		s, err := freePort()
		if err != nil {
			return a, err
		}
		*p = s
	}
	return a, nil
}

// addrs returns the current incarnation's addresses.
func (b *broker) addrs() addrs {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur
}

// awsURL is the AWS gateway endpoint of the current incarnation.
func (b *broker) awsURL() string { return "http://" + b.addrs().aws }

// start launches the broker on the same data directory, keeping the
// previous ports when it can, and waits until every face accepts
// connections. It returns how long that took.
func (b *broker) start() (time.Duration, error) {
	begin := time.Now()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		a := b.addrs()
		if a.amqp == "" || attempt > 0 {
			var err error
			if a, err = freeAddrs(); err != nil {
				return 0, err
			}
		}
		if err := b.launch(a); err != nil {
			return 0, err
		}
		err := b.waitReady(begin.Add(recoveryBound))
		if err == nil {
			return time.Since(begin), nil
		}
		lastErr = err
		b.kill()
		if !errors.Is(err, errExited) {
			break
		}
	}
	return time.Since(begin), fmt.Errorf("broker did not come up: %w\n%s", lastErr, b.stderr())
}

func (b *broker) launch(a addrs) error {
	cmd := exec.Command(b.bin, "serve",
		"--data-dir", b.dir,
		"--amqp-listen", a.amqp, "--mqtt-listen", a.mqtt, "--aws-listen", a.aws,
		"--amqps-listen", "", "--mqtts-listen", "", "--mqtt-ws-listen", "",
		"--mgmt-listen", "", "--metrics-listen", "",
		"--aws-accept-any-key", "--kinesis-no-limits",
		"--disk-free-limit", "1MB", "--memory-high-watermark", "0.9")
	stderr := &syncBuf{}
	cmd.Stderr = stderr
	cmd.Stdout = stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	exit := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exit) }()
	b.mu.Lock()
	b.cur, b.cmd, b.exit, b.log = a, cmd, exit, stderr
	b.epoch++
	b.mu.Unlock()
	return nil
}

var errExited = errors.New("broker exited")

// waitReady polls until every listener accepts a TCP connection.
func (b *broker) waitReady(deadline time.Time) error {
	b.mu.Lock()
	a, exit := b.cur, b.exit
	b.mu.Unlock()
	for _, addr := range []string{a.amqp, a.mqtt, a.aws} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exit:
				return errExited
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not accepting: %w", addr, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (b *broker) kill() {
	b.mu.Lock()
	cmd, exit := b.cmd, b.exit
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exit
}

// gracefulBound is how long a broker may take to stop on SIGTERM under
// load; past it the suite fails (a hung shutdown).
const gracefulBound = 60 * time.Second

// stop sends SIGTERM and waits for the process to exit by itself; it
// reports the exit status, or an error when the broker did not stop
// within gracefulBound (it is then killed).
func (b *broker) stop() error {
	b.mu.Lock()
	cmd, exit := b.cmd, b.exit
	b.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exit:
	case <-time.After(gracefulBound):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exit
		return fmt.Errorf("no exit %s after SIGTERM\n%s", gracefulBound, b.stderr())
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("exit status %d after SIGTERM\n%s", code, b.stderr())
	}
	return nil
}

func (b *broker) stderr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.log == nil {
		return ""
	}
	s := b.log.String()
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return s
}

// buildBinary builds cmd/junction into dir unless JUNCTION_BIN names one.
func buildBinary(dir string) (string, error) {
	if bin := os.Getenv("JUNCTION_BIN"); bin != "" {
		return bin, nil
	}
	bin := filepath.Join(dir, "junction")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/junctionmq/junction/cmd/junction").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// syncBuf is a bytes.Buffer safe for the process's writes and our reads.
type syncBuf struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
