package alarm

import (
	"sync/atomic"
	"testing"
)

func TestMonitorNotifiesChanges(t *testing.T) {
	var used atomic.Uint64
	var low atomic.Bool
	m := New(Config{MemoryLimit: 100, MemoryUsed: used.Load, DiskLow: low.Load})
	var got []State
	cancel := m.Subscribe(func(s State) { got = append(got, s) })
	steps := []struct {
		used uint64
		low  bool
		want State
	}{
		{50, false, State{}},
		{150, false, State{Memory: true}},
		{150, false, State{Memory: true}}, // no change, no call
		{150, true, State{Memory: true, Disk: true}},
		{10, true, State{Disk: true}},
		{10, false, State{}},
	}
	for _, s := range steps {
		used.Store(s.used)
		low.Store(s.low)
		m.Check()
		if m.State() != s.want {
			t.Fatalf("used %d low %v: state %+v, want %+v", s.used, s.low, m.State(), s.want)
		}
	}
	if len(got) != 4 {
		t.Fatalf("subscriber called %d times, want 4: %+v", len(got), got)
	}
	cancel()
	used.Store(1000)
	m.Check()
	if len(got) != 4 {
		t.Fatal("called after cancel")
	}
}

func TestMonitorStartClose(t *testing.T) {
	m := New(Config{MemoryLimit: 1, MemoryUsed: func() uint64 { return 2 }})
	m.Start()
	if !m.State().Memory {
		t.Fatal("Start did not check at once")
	}
	m.Close()
	m.Close()
}

func TestParseMemTotal(t *testing.T) {
	n, err := parseMemTotal([]byte("MemFree:  10 kB\nMemTotal:       16318496 kB\n"))
	if err != nil || n != 16318496*1024 {
		t.Fatalf("got %d, %v", n, err)
	}
	if _, err := parseMemTotal([]byte("nothing")); err == nil {
		t.Fatal("no error without MemTotal")
	}
	if total, err := MemTotal(); err != nil || total == 0 {
		t.Fatalf("MemTotal: %d, %v", total, err)
	}
	if ProcessMemory() == 0 {
		t.Fatal("ProcessMemory is 0")
	}
}
