package soak_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Load per face, in messages per second, at SOAK_SCALE=1: each face at
// about a tenth of what it does alone in `make bench` on the 2-core
// machine (AMQP confirms 22,000, MQTT QoS 1 29,000, SQS batched 17,000,
// Kinesis 44,000 but 1,000 per shard by AWS's limit), so the five faces
// at once ask about half of the machine.
var baseRates = map[string]float64{"amqp": 2200, "mqtt": 1400, "sqs": 1700, "sns": 200, "kinesis": 1000}

// soakConfig is read from the environment.
type soakConfig struct {
	duration time.Duration // SOAK_DURATION (default 10m)
	warmup   time.Duration // a quarter of it, at least 20 s
	scale    float64       // SOAK_SCALE (default 1)
}

func readConfig(t *testing.T) soakConfig {
	c := soakConfig{duration: 10 * time.Minute, scale: 1}
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err, "SOAK_DURATION")
		require.GreaterOrEqual(t, d, time.Minute, "SOAK_DURATION")
		c.duration = d
	}
	if s := os.Getenv("SOAK_SCALE"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err, "SOAK_SCALE")
		require.Greater(t, f, 0.0, "SOAK_SCALE")
		c.scale = f
	}
	c.warmup = max(c.duration/4, 20*time.Second)
	return c
}

func (c soakConfig) rate(face string) float64 { return baseRates[face] * c.scale }

// soakBroker is the junction child process.
type soakBroker struct {
	cmd                            *exec.Cmd
	log                            string // its stderr and stdout
	amqp, mqtt, aws, mgmt, metrics string // addresses
	exited                         chan struct{}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// startBroker builds (unless JUNCTION_BIN is set) and starts junction with
// AMQP, MQTT, the AWS gateway, management and metrics on loopback ports.
func startBroker(t *testing.T) *soakBroker {
	dir := t.TempDir()
	bin := os.Getenv("JUNCTION_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "junction")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/junctionmq/junction/cmd/junction").CombinedOutput()
		require.NoError(t, err, "go build: %s", out)
	}
	b := &soakBroker{log: filepath.Join(dir, "junction.log"), amqp: freeAddr(t), mqtt: freeAddr(t),
		aws: freeAddr(t), mgmt: freeAddr(t), metrics: freeAddr(t), exited: make(chan struct{})}
	logf, err := os.Create(b.log)
	require.NoError(t, err)
	b.cmd = exec.Command(bin, "serve", "--data-dir", filepath.Join(dir, "data"), "--log-level", "warn",
		"--amqp-listen", b.amqp, "--mqtt-listen", b.mqtt, "--aws-listen", b.aws, "--mgmt-listen", b.mgmt,
		"--metrics-listen", b.metrics, "--amqps-listen=", "--mqtts-listen=", "--mqtt-ws-listen=")
	if a := os.Getenv("SOAK_PPROF"); a != "" { // e.g. SOAK_PPROF=127.0.0.1:6060, to profile the broker
		b.cmd.Args = append(b.cmd.Args, "--pprof-listen", a)
	}
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	require.NoError(t, b.cmd.Start())
	logf.Close()
	go func() { _ = b.cmd.Wait(); close(b.exited) }()
	t.Cleanup(func() {
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(40 * time.Second):
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
	})
	for _, a := range []string{b.amqp, b.mqtt, b.aws, b.mgmt, b.metrics} {
		require.Eventually(t, func() bool {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		}, 60*time.Second, 50*time.Millisecond, "broker not listening on %s", a)
	}
	return b
}

// sample is the broker's resident memory and goroutine count.
type sample struct {
	rss        int64 // bytes, VmRSS of /proc/PID/status
	anon       int64 // bytes, RssAnon: VmRSS without file pages
	heap       int64 // bytes, go_memstats_heap_inuse_bytes: live and not yet collected
	goroutines int64 // go_goroutines of /metrics
}

func (s sample) String() string {
	return fmt.Sprintf("rss=%.1fMiB anon=%.1fMiB heap=%.1fMiB goroutines=%d",
		float64(s.rss)/(1<<20), float64(s.anon)/(1<<20), float64(s.heap)/(1<<20), s.goroutines)
}

func (b *soakBroker) sample() (sample, error) {
	var s sample
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", b.cmd.Process.Pid))
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, v, _ := strings.Cut(sc.Text(), ":")
		var p *int64
		switch name {
		case "VmRSS":
			p = &s.rss
		case "RssAnon":
			p = &s.anon
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return s, err
		}
		*p = kb << 10
	}
	resp, err := http.Get("http://" + b.metrics + "/metrics")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return s, err
	}
	for line := range strings.Lines(string(body)) {
		name, v, _ := strings.Cut(line, " ")
		var p *int64
		switch name {
		case "go_goroutines":
			p = &s.goroutines
		case "go_memstats_heap_inuse_bytes":
			p = &s.heap
		default:
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return s, err
		}
		*p = int64(f)
	}
	if s.rss == 0 || s.anon == 0 || s.goroutines == 0 {
		return s, fmt.Errorf("incomplete sample %v", s)
	}
	return s, nil
}

// logLines returns the broker's log lines at level (ERROR, WARN).
func (b *soakBroker) logLines(level string) []string {
	out, _ := os.ReadFile(b.log)
	var lines []string
	for line := range bytes.Lines(out) {
		if bytes.Contains(line, []byte("level="+level)) {
			lines = append(lines, string(bytes.TrimSpace(line)))
		}
	}
	return lines
}

// loadFace is one face's traffic.
type loadFace interface {
	tally() *tally
	// setup declares what the face needs.
	setup(ctx context.Context) error
	// produce sends at rate messages per second until ctx ends and every
	// confirm it waits for has come.
	produce(ctx context.Context, rate float64)
	// consume runs one consumer for about life, then closes it, abruptly
	// (the socket) when abrupt is set.
	consume(ctx context.Context, life time.Duration, abrupt bool)
}

// TestSoak drives every face at once for SOAK_DURATION, then checks the
// accounts, the broker's memory and goroutines and its log.
func TestSoak(t *testing.T) {
	if os.Getenv("JUNCTION_SOAK") == "" {
		t.Skip("a long load run: set JUNCTION_SOAK=1 (make soak)")
	}
	cfg := readConfig(t)
	abrupt := os.Getenv("SOAK_NO_DROPS") == "" // SOAK_NO_DROPS=1: consumers always close cleanly
	b := startBroker(t)
	faces := map[string]loadFace{
		"amqp": newAMQPLoad(b.amqp), "mqtt": newMQTTLoad(b.mqtt),
		"sqs": newSQSLoad(b.aws), "sns": newSNSLoad(b.aws), "kinesis": newKinesisLoad(b.aws),
	}
	order := []string{"amqp", "mqtt", "sqs", "sns", "kinesis"}
	if f := os.Getenv("SOAK_FACES"); f != "" { // e.g. SOAK_FACES=mqtt,sqs
		order = strings.Split(f, ",")
		for _, name := range order {
			require.Contains(t, faces, name, "SOAK_FACES")
		}
	}
	setupCtx, cancelSetup := context.WithTimeout(context.Background(), time.Minute)
	for _, name := range order {
		require.NoError(t, faces[name].setup(setupCtx), "setup %s", name)
	}
	cancelSetup()

	loadCtx, stopLoad := context.WithTimeout(context.Background(), cfg.duration)
	defer stopLoad()
	consCtx, stopConsumers := context.WithCancel(context.Background())
	defer stopConsumers()
	var producers, consumers sync.WaitGroup
	for _, name := range order {
		f := faces[name]
		producers.Go(func() { f.produce(loadCtx, cfg.rate(name)) })
		// Consumers come and go: each lives 3-15 s, pauses up to 2 s, and
		// one life in three ends with its socket closed abruptly. Two
		// overlap per face, except where one must be alone.
		slots := 2
		if name == "kinesis" || name == "mqtt" {
			slots = 1 // GetRecords: 5 calls a second per shard; MQTT: one session
		}
		for range slots {
			consumers.Go(func() {
				for consCtx.Err() == nil {
					life := time.Duration(3000+rand.IntN(12000)) * time.Millisecond
					f.consume(consCtx, life, abrupt && rand.IntN(3) == 0)
					sleepCtx(consCtx, time.Duration(rand.IntN(2000))*time.Millisecond)
				}
			})
		}
	}
	if abrupt {
		consumers.Go(func() { churn(consCtx, b) })
	}

	// Samples: every 10 s; the baseline is the mean of the first three
	// after warm-up (RSS swings by a fifth from one sample to the next).
	start := time.Now()
	var after []sample
	var peak sample
	tick := time.NewTicker(10 * time.Second)
	for loadCtx.Err() == nil {
		select {
		case <-tick.C:
		case <-loadCtx.Done():
			continue
		}
		s, err := b.sample()
		if err != nil {
			t.Logf("sample: %v", err)
			continue
		}
		peak = sample{max(peak.rss, s.rss), max(peak.anon, s.anon), max(peak.heap, s.heap), max(peak.goroutines, s.goroutines)}
		phase := "warm-up"
		if time.Since(start) >= cfg.warmup {
			phase = "load"
			if len(after) < 3 {
				after = append(after, s)
				phase = "baseline"
			}
		}
		t.Logf("%4.0fs %-8s %v %s", time.Since(start).Seconds(), phase, s, progress(faces, order))
	}
	tick.Stop()
	loadTime := time.Since(start)
	producers.Wait()
	stopConsumers()
	consumers.Wait()
	require.NotEmpty(t, after, "no sample after warm-up")
	var baseline sample
	for _, s := range after {
		baseline.rss += s.rss / int64(len(after))
		baseline.anon += s.anon / int64(len(after))
		baseline.heap += s.heap / int64(len(after))
		baseline.goroutines += s.goroutines
	}
	baseline.goroutines /= int64(len(after))

	// Drain: one consumer per face until every confirmed id arrived.
	drainCtx, stopDrain := context.WithTimeout(context.Background(), 3*time.Minute)
	defer stopDrain()
	var drains sync.WaitGroup
	for _, name := range order {
		f := faces[name]
		drains.Go(func() {
			for drainCtx.Err() == nil && f.tally().missing() > 0 {
				f.consume(drainCtx, 10*time.Second, false)
			}
		})
	}
	drains.Wait()

	// Back to the post-warm-up level, once the clients are gone: allow
	// the runtime two minutes to end goroutines and return memory. The
	// memory compared is RssAnon: VmRSS also counts the file pages of
	// Badger's memory-mapped tables and value log, which grow with the
	// data read and written, not with what the broker holds (the kernel
	// drops them under pressure); VmRSS is reported beside it.
	var end sample
	within := func(s sample) bool {
		return float64(s.anon) <= 1.1*float64(baseline.anon) && float64(s.goroutines) <= 1.1*float64(baseline.goroutines)
	}
	settleStart := time.Now()
	for deadline := time.Now().Add(2 * time.Minute); ; {
		s, err := b.sample()
		if err == nil {
			end = s
			if within(s) {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	settled := time.Since(settleStart).Round(time.Second)

	t.Logf("soak: %s of load (warm-up %s), scale %.2g", loadTime.Round(time.Second), cfg.warmup, cfg.scale)
	var total int
	for _, name := range order {
		a := faces[name].tally().account()
		total += a.confirmed
		t.Logf("soak: %v (%.0f msg/s confirmed)", a, float64(a.confirmed)/loadTime.Seconds())
		assert.Zero(t, a.lost, "%s: confirmed messages never delivered, among them %v", name, faces[name].tally().missingIDs(20))
		assert.NotZero(t, a.confirmed, "%s: nothing confirmed", name)
	}
	t.Logf("soak: total %d confirmed, %.0f msg/s", total, float64(total)/loadTime.Seconds())
	t.Logf("soak: broker after warm-up %v, peak %v, at the end %v (%s after the drain)", baseline, peak, end, settled)
	t.Logf("soak: MQTT copies the broker dropped ($SYS/broker/messages/dropped): %s",
		faces["mqtt"].(*mqttLoad).sysDropped())
	assert.True(t, within(end), "anonymous RSS or goroutines not back within 10%% of the post-warm-up level: %v vs %v", end, baseline)
	assert.Empty(t, b.logLines("ERROR"), "ERROR lines in the broker's log")
	warns := b.logLines("WARN")
	t.Logf("soak: %d WARN lines in the broker's log", len(warns))
	for _, w := range warns[:min(len(warns), 20)] {
		t.Logf("  %s", w)
	}
}

// progress is a one-line summary of the confirmed counts so far.
func progress(faces map[string]loadFace, order []string) string {
	var sb strings.Builder
	for _, name := range order {
		tl := faces[name].tally()
		tl.mu.Lock()
		fmt.Fprintf(&sb, " %s=%d/%d", name, len(tl.confirmed), len(tl.seen))
		tl.mu.Unlock()
	}
	return strings.TrimSpace(sb.String())
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// pace calls send(batch) rate/batch times a second on a pool of workers
// until ctx ends; a tick no worker is free for is skipped, not made up.
func pace(ctx context.Context, rate float64, batch, workers int, send func(n int)) {
	interval := time.Duration(float64(time.Second) * float64(batch) / rate)
	ticks := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range ticks {
				send(batch)
			}
		})
	}
	tk := time.NewTicker(interval)
	defer func() { tk.Stop(); close(ticks); wg.Wait() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			select {
			case ticks <- struct{}{}:
			default:
			}
		}
	}
}
