package persist

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

	"github.com/junctionmq/junction/core/store"
)

// crashChild enqueues as fast as it can, printing each seq when its Done
// fires, and removes every 3rd confirmed entry, printing "removed N".
func crashChild(dir string) {
	db, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex // guards out
	out := bufio.NewWriter(os.Stdout)
	print := func(s string) {
		mu.Lock()
		out.WriteString(s)
		out.Flush()
		mu.Unlock()
	}
	body := []byte("crash-test-body")
	for seq := uint64(1); ; seq++ {
		db.Enqueue("q", store.Entry{Seq: seq, MsgID: seq}, body, func(err error) {
			if err != nil {
				return
			}
			print(fmt.Sprintf("%d\n", seq))
			if seq%3 == 0 {
				db.Remove("q", seq, func(err error) {
					if err == nil {
						print(fmt.Sprintf("removed %d\n", seq))
					}
				})
			}
		})
		if seq%512 == 0 {
			_ = db.Flush() // keep the pending slice from growing without bound
		}
	}
}

func TestCrash(t *testing.T) {
	if dir := os.Getenv("PERSIST_CRASH_DIR"); os.Getenv("PERSIST_CRASH_CHILD") == "1" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("re-execs the test binary")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), "PERSIST_CRASH_CHILD=1", "PERSIST_CRASH_DIR="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	confirmed := map[uint64]bool{}
	removed := map[uint64]bool{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && len(confirmed) < 20000 {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "removed "); ok {
			seq, _ := strconv.ParseUint(n, 10, 64)
			removed[seq] = true
			continue
		}
		seq, err := strconv.ParseUint(line, 10, 64)
		if err != nil {
			t.Fatalf("child: %s", line)
		}
		confirmed[seq] = true
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	t.Logf("child confirmed %d, removed %d before SIGKILL", len(confirmed), len(removed))

	db := openT(t, dir, Options{})
	seen := map[uint64]bool{}
	last := uint64(0)
	for _, m := range messages(t, db, "q") {
		if m.e.Seq <= last {
			t.Fatalf("seq %d after %d", m.e.Seq, last)
		}
		last = m.e.Seq
		seen[m.e.Seq] = true
		if removed[m.e.Seq] {
			t.Fatalf("removed seq %d came back", m.e.Seq)
		}
	}
	for seq := range confirmed {
		// Every 3rd had a Remove submitted: it may have landed unconfirmed.
		if !seen[seq] && seq%3 != 0 {
			t.Fatalf("confirmed seq %d lost", seq)
		}
	}
}
