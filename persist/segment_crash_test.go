package persist

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/store"
)

// segmentCrashChild appends batches of 1 to 600 records (some cut into
// several segments) to stream "s" and single records to stream "t" as
// fast as it can, printing "s END" or "t END" when a write's Done
// reports the records below END durable, and trims "s" now and then.
func segmentCrashChild(dir string) {
	db, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	print := linePrinter()
	var next, single uint64
	for i := 0; ; i++ {
		n := 1 + (i*37)%600
		size := 16
		if i%50 == 0 {
			size = 4 << 10 // about 2.4 MiB: several segments
		}
		end := next + uint64(n)
		db.AppendBatch("s", next, recs(int(next), n, size), func(err error) {
			if err == nil {
				print(fmt.Sprintf("s %d\n", end))
			}
		})
		next = end
		off := single
		db.Append("t", off, []byte(fmt.Sprintf("t%d", off)), func(err error) {
			if err == nil {
				print(fmt.Sprintf("t %d\n", off+1))
			}
		})
		single++
		if i%20 == 19 {
			db.Trim("s", next/2, nil)
			_ = db.Flush() // keep the pending slice from growing without bound
		}
	}
}

// TestSegmentCrash: SIGKILL a process appending stream batches; every
// record whose Done fired is there after reopening, each stream's records
// are dense from its first offset, and each record reads back as written.
func TestSegmentCrash(t *testing.T) {
	if dir := os.Getenv("PERSIST_SEGCRASH_DIR"); os.Getenv("PERSIST_SEGCRASH_CHILD") == "1" {
		segmentCrashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("re-execs the test binary")
	}
	dir := t.TempDir()
	durable := killWhenDurable(t, "TestSegmentCrash", "PERSIST_SEGCRASH", dir,
		func(d map[string]uint64) bool { return d["s"] >= 100_000 })
	t.Logf("durable before SIGKILL: s below %d, t below %d", durable["s"], durable["t"])

	db := openT(t, dir, Options{})
	for _, name := range []string{"s", "t"} {
		requireDense(t, db, name, durable[name], func(off uint64, rec []byte) {
			if name == "s" {
				require.Equal(t, "r"+strconv.FormatUint(off, 10)+".", string(rec[:len(strconv.FormatUint(off, 10))+2]))
			} else {
				require.Equal(t, "t"+strconv.FormatUint(off, 10), string(rec))
			}
		})
	}
}

// writeSegmentCrashChild writes segments of 1 to 300 records of 1 KiB
// with WriteSegment (to segment files of 256 KiB, so that files are
// started and swept all along) to streams "u" and "v", one goroutine
// each as core/stream does, printing "u END" when a segment's Done
// reports the records below END durable, and trims each now and then.
func writeSegmentCrashChild(dir string) {
	db, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	db.segFiles.maxSize = 256 << 10
	print := linePrinter()
	var wg sync.WaitGroup
	for _, name := range []string{"u", "v"} {
		wg.Go(func() {
			first, next, err := db.StreamBounds(name)
			if err != nil || first != 0 || next != 0 {
				fmt.Println("bounds:", first, next, err)
				os.Exit(2)
			}
			for i := 0; ; i++ {
				n := 1 + (i*37)%300
				records := recs(int(next), n, 1024)
				seg, slots, ok := db.NewSegment(next, n, func(i int) int { return len(records[i]) })
				if !ok {
					fmt.Println("segment does not fit")
					os.Exit(2)
				}
				for i, s := range slots {
					copy(s, records[i])
				}
				end := next + uint64(n)
				db.WriteSegment(name, seg, func(err error) {
					if err == nil {
						print(fmt.Sprintf("%s %d\n", name, end))
					}
				})
				next = end
				if i%20 == 19 {
					db.Trim(name, next/2, func(error) {})
				}
			}
		})
	}
	wg.Wait()
}

// TestWriteSegmentCrash: SIGKILL a process writing segments with
// WriteSegment; every record whose Done fired is there after reopening,
// each stream is dense from its first offset, every record reads back as
// written, and segments written after the restart go to new files.
func TestWriteSegmentCrash(t *testing.T) {
	if dir := os.Getenv("PERSIST_WSCRASH_DIR"); os.Getenv("PERSIST_WSCRASH_CHILD") == "1" {
		writeSegmentCrashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("re-execs the test binary")
	}
	dir := t.TempDir()
	durable := killWhenDurable(t, "TestWriteSegmentCrash", "PERSIST_WSCRASH", dir,
		func(d map[string]uint64) bool { return d["u"]+d["v"] >= 60_000 })
	t.Logf("durable before SIGKILL: u below %d, v below %d", durable["u"], durable["v"])

	db := openT(t, dir, Options{})
	for _, name := range []string{"u", "v"} {
		next := requireDense(t, db, name, durable[name], func(off uint64, rec []byte) {
			require.Equal(t, "r"+strconv.FormatUint(off, 10)+".", string(rec[:len(strconv.FormatUint(off, 10))+2]))
		})

		seg, slots, ok := db.NewSegment(next, 1, func(int) int { return 5 })
		require.True(t, ok)
		copy(slots[0], "after")
		require.NoError(t, wait(func(d store.Done) { require.True(t, db.WriteSegment(name, seg, d)) }))
		_, data := recordsFrom(t, db, name, next)
		require.Equal(t, []string{"after"}, data)
	}
}

// linePrinter returns a function that writes whole lines to stdout, one
// at a time, for a crash child's parent to read.
func linePrinter() func(string) {
	var mu sync.Mutex // guards out
	out := bufio.NewWriter(os.Stdout)
	return func(s string) {
		mu.Lock()
		out.WriteString(s)
		out.Flush()
		mu.Unlock()
	}
}

// killWhenDurable re-runs test as a child (env+"_CHILD=1", env+"_DIR=dir"),
// reads its "NAME END" lines (records of stream NAME below END are
// durable) until enough holds, SIGKILLs it and returns what it confirmed.
func killWhenDurable(t *testing.T, test, env, dir string, enough func(map[string]uint64) bool) map[string]uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env+"_CHILD=1", env+"_DIR="+dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	durable := map[string]uint64{}
	sc := bufio.NewScanner(stdout)
	for !enough(durable) && sc.Scan() {
		var name string
		var end uint64
		if _, err := fmt.Sscanf(sc.Text(), "%s %d", &name, &end); err != nil {
			t.Fatalf("child: %s", sc.Text())
		}
		require.GreaterOrEqual(t, end, durable[name], "Dones out of order")
		durable[name] = end
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	return durable
}

// requireDense checks that stream name holds every record below durable,
// densely from its first offset to where its bounds end, each passing
// check, and returns the next offset.
func requireDense(t *testing.T, db *DB, name string, durable uint64, check func(off uint64, rec []byte)) uint64 {
	t.Helper()
	first, next, err := db.StreamBounds(name)
	require.NoError(t, err)
	require.GreaterOrEqual(t, next, durable, "%s: confirmed records lost", name)
	want := first
	require.NoError(t, db.Records(name, first, func(off uint64, rec []byte) bool {
		require.Equal(t, want, off, name)
		check(off, rec)
		want++
		return true
	}))
	require.Equal(t, next, want, "%s: records end where the bounds say", name)
	return next
}
