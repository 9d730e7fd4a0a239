// Package leakcheck tells tests whether what a server did left goroutines
// or heap behind: take a baseline, do the work, and wait (polling, with a
// generous deadline, never asserting on timing) until both are back near
// it.
package leakcheck

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Baseline is the goroutine count and live heap at one moment.
type Baseline struct {
	Goroutines int
	Heap       uint64 // bytes in use after a GC
}

// Take measures the baseline after a GC.
func Take() Baseline {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return Baseline{Goroutines: runtime.NumGoroutine(), Heap: m.HeapInuse}
}

func (b Baseline) String() string {
	return fmt.Sprintf("%d goroutines, %d KiB heap", b.Goroutines, b.Heap>>10)
}

// deadline bounds the wait for goroutines and heap to come back: long
// enough for the race detector on a loaded machine.
const deadline = 60 * time.Second

// Settle waits until the goroutines are at most b's plus extraG and the
// heap at most b's plus extraHeap, and fails the test with a goroutine
// dump if they do not get there. It returns the last measurement.
func (b Baseline) Settle(t testing.TB, extraG int, extraHeap uint64) Baseline {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		now := Take()
		if now.Goroutines <= b.Goroutines+extraG && now.Heap <= b.Heap+extraHeap {
			t.Logf("before %v; after %v", b, now)
			return now
		}
		if time.Now().After(end) {
			t.Fatalf("leak: before %v, after %v (allowed +%d goroutines, +%d KiB)\n%s",
				b, now, extraG, extraHeap>>10, stacks())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stacks returns every goroutine's stack, trimmed to the first 200 lines.
func stacks() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	lines := strings.Split(string(buf), "\n")
	if len(lines) > 200 {
		lines = append(lines[:200], "...")
	}
	return strings.Join(lines, "\n")
}
