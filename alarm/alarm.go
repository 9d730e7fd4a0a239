// Package alarm watches the broker's resources, as RabbitMQ's memory and
// disk alarms do: memory in use above the high watermark, or free disk
// space below the limit. Faces subscribe and hold their publishers back
// while an alarm is on (AMQP: connection.blocked and no reads).
//
// One Monitor per process checks every Interval on one goroutine and
// calls its subscribers when the state changes. The sources are
// functions, so tests drive the alarms directly.
package alarm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// State is which alarms are on.
type State struct {
	Memory bool // memory in use is above the high watermark
	Disk   bool // free disk space is below the limit
}

// Any reports whether any alarm is on.
func (s State) Any() bool { return s.Memory || s.Disk }

// Config configures a Monitor. A nil source turns its alarm off.
type Config struct {
	// Interval between checks. Default 1 s.
	Interval time.Duration
	// MemoryLimit is the high watermark in bytes (0: no memory alarm).
	MemoryLimit uint64
	// MemoryUsed reports the memory in use; nil means ProcessMemory.
	MemoryUsed func() uint64
	// DiskLow reports whether free disk space is below the limit.
	DiskLow func() bool
	// Logger receives alarm set/clear messages. Default slog.Default().
	Logger *slog.Logger
}

// Monitor checks the resources and tells subscribers of changes.
type Monitor struct {
	cfg   Config
	limit atomic.Uint64 // the memory high watermark in bytes (0: no memory alarm); SetMemoryLimit changes it

	mu    sync.Mutex // guards state, subs, next, checking
	state State
	subs  map[int]func(State)
	next  int

	stop chan struct{}
	wg   sync.WaitGroup
}

// New returns a Monitor; Start begins the periodic checks.
func New(cfg Config) *Monitor {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.MemoryUsed == nil {
		cfg.MemoryUsed = ProcessMemory
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Monitor{cfg: cfg, subs: map[int]func(State){}, stop: make(chan struct{})}
	m.limit.Store(cfg.MemoryLimit)
	return m
}

// MemoryLimit returns the memory high watermark in bytes (0: none).
func (m *Monitor) MemoryLimit() uint64 { return m.limit.Load() }

// SetMemoryLimit changes the memory high watermark at run time (0 turns
// the memory alarm off), as rabbitmqctl set_vm_memory_high_watermark
// does, and checks the resources at once.
func (m *Monitor) SetMemoryLimit(limit uint64) {
	m.limit.Store(limit)
	m.Check()
}

// Start runs Check every Interval on one goroutine until Close.
func (m *Monitor) Start() {
	m.Check()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(m.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				m.Check()
			case <-m.stop:
				return
			}
		}
	}()
}

// Close stops the checks and waits for a check in progress.
func (m *Monitor) Close() {
	m.mu.Lock()
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// State returns the alarms now on.
func (m *Monitor) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Subscribe calls fn with the new state at every change, from the
// monitor's goroutine (or Check's caller), one call at a time; fn must
// not block and must not call Subscribe or cancel. The returned cancel
// removes it.
func (m *Monitor) Subscribe(fn func(State)) (cancel func()) {
	m.mu.Lock()
	id := m.next
	m.next++
	m.subs[id] = fn
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.subs, id)
		m.mu.Unlock()
	}
}

// Check reads the sources now and, if the state changed, logs it and
// tells the subscribers.
func (m *Monitor) Check() {
	var s State
	var used uint64
	limit := m.limit.Load()
	if limit > 0 {
		used = m.cfg.MemoryUsed()
		s.Memory = used > limit
	}
	if m.cfg.DiskLow != nil {
		s.Disk = m.cfg.DiskLow()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.state
	if s == old {
		return
	}
	m.state = s
	m.logChange(old, s, used, limit)
	for _, fn := range m.subs {
		fn(s)
	}
}

func (m *Monitor) logChange(old, s State, used, limit uint64) {
	log := m.cfg.Logger
	if s.Memory != old.Memory {
		if s.Memory {
			log.Warn("memory resource limit alarm set: publishers are blocked", "limit", limit, "used", used)
		} else {
			log.Info("memory resource limit alarm cleared", "used", used)
		}
	}
	if s.Disk != old.Disk {
		if s.Disk {
			log.Warn("disk resource limit alarm set: free disk space is low, publishers are blocked")
		} else {
			log.Info("disk resource limit alarm cleared")
		}
	}
}

// ProcessMemory returns the memory the Go runtime holds from the
// operating system minus what it has returned (runtime/metrics
// /memory/classes/total:bytes less released), close to the RSS that
// RabbitMQ's rss strategy compares.
func ProcessMemory() uint64 {
	samples := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(samples)
	total, released := samples[0].Value, samples[1].Value
	if total.Kind() != metrics.KindUint64 || released.Kind() != metrics.KindUint64 {
		return 0
	}
	return total.Uint64() - released.Uint64()
}

// MemTotal returns the machine's RAM from /proc/meminfo.
func MemTotal() (uint64, error) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	return parseMemTotal(data)
}

func parseMemTotal(data []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "MemTotal:" {
			kb, err := strconv.ParseUint(string(f[1]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("meminfo MemTotal: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("meminfo: no MemTotal")
}

// MemoryLimit returns fraction of the machine's RAM, RabbitMQ's
// vm_memory_high_watermark (0.4 by default). A fraction of 0 or less
// turns the memory alarm off (0).
func MemoryLimit(fraction float64) (uint64, error) {
	if fraction <= 0 {
		return 0, nil
	}
	total, err := MemTotal()
	if err != nil {
		return 0, err
	}
	return uint64(float64(total) * fraction), nil
}

// DiskLow returns a DiskLow source: free space on the filesystem holding
// path is below limit bytes (RabbitMQ's disk_free_limit). It reads the
// filesystem at each call, so the alarm clears even when nothing writes.
func DiskLow(path string, limit int64) func() bool {
	if limit <= 0 || path == "" {
		return nil
	}
	return func() bool {
		var fs syscall.Statfs_t
		if err := syscall.Statfs(path, &fs); err != nil {
			return false
		}
		return int64(fs.Bavail)*int64(fs.Bsize) < limit
	}
}
