package persist

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openT(t testing.TB, dir string, opts Options) *DB {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// wait submits through f and returns the error its Done reports.
func wait(f func(store.Done)) error {
	ch := make(chan error, 1)
	f(func(err error) { ch <- err })
	return <-ch
}

type got struct {
	e    store.Entry
	data string
}

func messages(t testing.TB, db *DB, queue string) []got {
	t.Helper()
	var out []got
	err := db.Messages(queue, func(e store.Entry, data []byte) error {
		out = append(out, got{e, string(data)})
		return nil
	})
	if err != nil {
		t.Fatalf("Messages(%q): %v", queue, err)
	}
	return out
}

func TestQueueRoundTrip(t *testing.T) {
	for _, mem := range []bool{false, true} {
		t.Run(fmt.Sprintf("inmemory=%v", mem), func(t *testing.T) {
			db := openT(t, t.TempDir(), Options{InMemory: mem})
			e1 := store.Entry{Seq: 1, MsgID: 10, Priority: 3}
			e2 := store.Entry{Seq: 2, MsgID: 11}
			for _, err := range []error{
				wait(func(d store.Done) { db.Enqueue("q", e1, []byte("one"), d) }),
				wait(func(d store.Done) { db.Enqueue("q", e2, []byte("two"), d) }),
				wait(func(d store.Done) { db.Enqueue("q2", store.Entry{Seq: 1, MsgID: 10}, []byte("one"), d) }),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
			e1.DeliveryCount, e1.NotBefore = 4, 12345
			if err := wait(func(d store.Done) { db.Update("q", e1, d) }); err != nil {
				t.Fatal(err)
			}
			want := []got{{e1, "one"}, {e2, "two"}}
			if g := messages(t, db, "q"); fmt.Sprint(g) != fmt.Sprint(want) {
				t.Fatalf("q = %v, want %v", g, want)
			}
			if err := wait(func(d store.Done) { db.Remove("q", 1, d) }); err != nil {
				t.Fatal(err)
			}
			// Message 10 is still referenced by q2.
			if g := messages(t, db, "q2"); len(g) != 1 || g[0].data != "one" {
				t.Fatalf("q2 = %v", g)
			}
			if err := wait(func(d store.Done) { db.DropQueue("q2", d) }); err != nil {
				t.Fatal(err)
			}
			if g := messages(t, db, "q2"); len(g) != 0 {
				t.Fatalf("q2 after drop = %v", g)
			}
			// Update of a removed entry does not bring it back.
			if err := wait(func(d store.Done) { db.Update("q", e1, d) }); err != nil {
				t.Fatal(err)
			}
			if g := messages(t, db, "q"); len(g) != 1 || g[0].e.Seq != 2 {
				t.Fatalf("q = %v", g)
			}
			if n := len(db.refs); n != 1 {
				t.Fatalf("refs = %v, want only message 11", db.refs)
			}
		})
	}
}

func TestPrefixNames(t *testing.T) {
	db := openT(t, "", Options{InMemory: true})
	names := []string{"a", "a\x00", "a\x00b", "a\x01", "ab", "a/b"}
	for i, n := range names {
		err := wait(func(d store.Done) {
			db.Enqueue(n, store.Entry{Seq: uint64(i), MsgID: uint64(i + 1)}, []byte(n), d)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := wait(func(d store.Done) { db.Append(n, 0, []byte(n), d) }); err != nil {
			t.Fatal(err)
		}
		if err := db.PutDef(n, "k", []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		if g := messages(t, db, n); len(g) != 1 || g[0].data != n {
			t.Errorf("queue %q: %v", n, g)
		}
		var recs []string
		_ = db.Records(n, 0, func(_ uint64, rec []byte) bool { recs = append(recs, string(rec)); return true })
		if len(recs) != 1 || recs[0] != n {
			t.Errorf("stream %q: %q", n, recs)
		}
		var defs []string
		_ = db.Defs(n, func(k string, v []byte) error { defs = append(defs, k+"="+string(v)); return nil })
		if len(defs) != 1 || defs[0] != "k="+n {
			t.Errorf("defs %q: %q", n, defs)
		}
	}
}

func TestStreams(t *testing.T) {
	db := openT(t, t.TempDir(), Options{})
	for off := range uint64(10) {
		db.Append("s", off, []byte{byte(off)}, nil)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	check := func(first, next uint64) {
		t.Helper()
		f, n, err := db.StreamBounds("s")
		if err != nil || f != first || n != next {
			t.Fatalf("bounds = %d,%d,%v want %d,%d", f, n, err, first, next)
		}
	}
	check(0, 10)
	var offs []uint64
	_ = db.Records("s", 4, func(off uint64, rec []byte) bool {
		if rec[0] != byte(off) {
			t.Errorf("record %d = %v", off, rec)
		}
		offs = append(offs, off)
		return len(offs) < 3
	})
	if fmt.Sprint(offs) != "[4 5 6]" {
		t.Fatalf("Records = %v", offs)
	}
	if err := wait(func(d store.Done) { db.Trim("s", 7, d) }); err != nil {
		t.Fatal(err)
	}
	check(7, 10)
	// An append and a trim past it in one batch: the append never lands.
	db.Append("s", 10, []byte{10}, nil)
	db.Trim("s", 11, nil)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	check(11, 11)
	if err := wait(func(d store.Done) { db.DropStream("s", d) }); err != nil {
		t.Fatal(err)
	}
	check(0, 0)
}

func TestDefsAndStates(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{})
	for _, k := range []string{"b", "a", "c"} {
		if err := db.PutDef("queue", k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
		if err := db.PutState("mqtt/session", k, []byte("s"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteDef("queue", "c"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteState("mqtt/session", "a"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, dir, Options{})
	var defs, states []string
	_ = db.Defs("queue", func(k string, v []byte) error { defs = append(defs, k+"="+string(v)); return nil })
	_ = db.States("mqtt/session", func(k string, v []byte) error { states = append(states, k+"="+string(v)); return nil })
	if fmt.Sprint(defs) != "[a=va b=vb]" || fmt.Sprint(states) != "[b=sb c=sc]" {
		t.Fatalf("defs %v states %v", defs, states)
	}
}

func TestGroupCommit(t *testing.T) {
	db := openT(t, t.TempDir(), Options{})
	const writers, each = 16, 200
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			var done sync.WaitGroup
			for i := range each {
				done.Add(1)
				e := store.Entry{Seq: uint64(i), MsgID: uint64(w*each + i + 1)}
				db.Enqueue(fmt.Sprint("q", w), e, []byte("m"), func(err error) {
					if err != nil {
						errs <- err
					}
					done.Done()
				})
			}
			done.Wait()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := db.Stats()
	if st.Batches >= st.Ops {
		t.Errorf("no grouping: %d batches for %d ops", st.Batches, st.Ops)
	}
	t.Logf("%d ops in %d batches", st.Ops, st.Batches)
	for w := range writers {
		if g := messages(t, db, fmt.Sprint("q", w)); len(g) != each {
			t.Fatalf("q%d has %d entries", w, len(g))
		}
	}
}

func TestCancelOut(t *testing.T) {
	db := openT(t, t.TempDir(), Options{})
	// Hold the writer busy is not needed: ops submitted before the writer
	// wakes share a batch, and a lone pair shares one by construction here.
	db.mu.Lock()
	db.pending = append(db.pending,
		op{kind: opEnqueue, name: "q", e: store.Entry{Seq: 1, MsgID: 7}, data: []byte("x")},
		op{kind: opUpdate, name: "q", e: store.Entry{Seq: 1, MsgID: 7, DeliveryCount: 1}},
		op{kind: opEnqueue, name: "q", e: store.Entry{Seq: 2, MsgID: 8}, data: []byte("y")},
		op{kind: opRemove, name: "q", e: store.Entry{Seq: 1}},
	)
	db.mu.Unlock()
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := db.Stats().CancelledPairs; n != 1 {
		t.Fatalf("CancelledPairs = %d, want 1", n)
	}
	if g := messages(t, db, "q"); len(g) != 1 || g[0].e.Seq != 2 {
		t.Fatalf("q = %v", g)
	}
	if _, err := db.bdb.NewTransaction(false).Get(msgKey(7)); err == nil {
		t.Fatal("body of the cancelled message reached the store")
	}
}

func TestRecovery(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{})
	for seq := uint64(1); seq <= 100; seq++ {
		db.Enqueue("q", store.Entry{Seq: seq, MsgID: seq % 10}, []byte{byte(seq % 10)}, nil)
		db.Enqueue("other", store.Entry{Seq: seq, MsgID: seq % 10}, []byte{byte(seq % 10)}, nil)
		db.Append("s", seq, []byte("r"), nil)
	}
	db.Trim("s", 5, nil)
	for seq := uint64(1); seq <= 100; seq += 2 {
		db.Remove("q", seq, nil)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, dir, Options{})
	g := messages(t, db, "q")
	if len(g) != 50 {
		t.Fatalf("%d entries after reopen, want 50", len(g))
	}
	for i, m := range g {
		if m.e.Seq != uint64(2*i+2) || m.data != string([]byte{byte(m.e.Seq % 10)}) {
			t.Fatalf("entry %d = %v", i, m)
		}
	}
	if db.refs[2] != 20 || db.refs[1] != 10 {
		t.Fatalf("refs[2]=%d refs[1]=%d, want 20 and 10", db.refs[2], db.refs[1])
	}
	if f, n, _ := db.StreamBounds("s"); f != 5 || n != 101 {
		t.Fatalf("bounds %d %d", f, n)
	}
}

func TestClosed(t *testing.T) {
	db, err := Open(t.TempDir(), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wait(func(d store.Done) { db.Enqueue("q", store.Entry{}, nil, d) }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Enqueue after Close: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Run("locked", func(t *testing.T) {
		dir := t.TempDir()
		openT(t, dir, Options{})
		if _, err := Open(dir, Options{Logger: quiet}); !errors.Is(err, store.ErrLocked) {
			t.Fatalf("second Open: %v", err)
		}
	})
	t.Run("unwritable", func(t *testing.T) {
		if os.Getuid() == 0 {
			t.Skip("root can write anywhere")
		}
		dir := t.TempDir()
		_ = os.Chmod(dir, 0o500)
		defer os.Chmod(dir, 0o700)
		if _, err := Open(dir, Options{Logger: quiet}); err == nil {
			t.Fatal("Open of a read-only dir succeeded")
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		_ = os.WriteFile(f, nil, 0o600)
		if _, err := Open(f, Options{Logger: quiet}); err == nil {
			t.Fatal("Open of a file succeeded")
		}
	})
	t.Run("newer format", func(t *testing.T) {
		dir := t.TempDir()
		db := openT(t, dir, Options{})
		if err := writeFormat(db.bdb, FormatVersion+1); err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
		if _, err := Open(dir, Options{Logger: quiet}); !errors.Is(err, store.ErrNewerFormat) {
			t.Fatalf("Open: %v", err)
		}
	})
}

func TestCorrupt(t *testing.T) {
	for _, file := range []string{"MANIFEST", ".sst", ".vlog"} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			db := openT(t, dir, Options{ValueThreshold: 64})
			for seq := range uint64(200) {
				db.Enqueue("q", store.Entry{Seq: seq, MsgID: seq + 1}, bytes.Repeat([]byte("x"), 100), nil)
			}
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
			_ = db.bdb.Flatten(1) // no-op unless tables exist
			_ = db.Close()
			path := findFile(t, filepath.Join(dir, "store"), file)
			if path == "" {
				t.Skipf("no %s file written", file)
			}
			data, _ := os.ReadFile(path)
			from, to := len(data)/3, len(data)
			if file == ".vlog" { // preallocated: damage the written part
				from, to = 20, min(len(data), 20000)
			}
			for i := from; i < to; i += 7 {
				data[i] ^= 0x5a
			}
			_ = os.WriteFile(path, data, 0o600)
			db, err := Open(dir, Options{Logger: quiet})
			if err == nil {
				// Value-log damage shows when the values are read.
				n := 0
				err = db.Messages("q", func(store.Entry, []byte) error { n++; return nil })
				t.Logf("opened; %d messages read, err %v", n, err)
				_ = db.Close()
			}
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("Open: %v", err)
			}
			t.Log(err)
		})
	}
}

func findFile(t *testing.T, dir, suffix string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if n := e.Name(); len(n) >= len(suffix) && n[len(n)-len(suffix):] == suffix {
			return filepath.Join(dir, n)
		}
	}
	return ""
}

func TestInMemoryTakesLargeValues(t *testing.T) {
	db, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	done := make(chan error, 1)
	db.Append("s", 0, make([]byte, 900<<10), func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatalf("900 KiB record in memory: %v", err)
	}
}

// TestLinger: writes no one waits for (removes, updates) wait for the
// next write someone waits for and share its sync, or are committed on
// their own within lingerFor.
func TestLinger(t *testing.T) {
	db := openT(t, t.TempDir(), Options{})
	for i := range 3 {
		if err := wait(func(d store.Done) { db.Enqueue("q", store.Entry{Seq: uint64(i), MsgID: uint64(i + 1)}, []byte("m"), d) }); err != nil {
			t.Fatal(err)
		}
	}
	before, start := db.Stats().Batches, time.Now()
	db.Remove("q", 0, nil)
	db.Update("q", store.Entry{Seq: 1, DeliveryCount: 1}, nil)
	if err := wait(func(d store.Done) { db.Enqueue("q", store.Entry{Seq: 3, MsgID: 4}, []byte("m"), d) }); err != nil {
		t.Fatal(err)
	}
	if n := db.Stats().Batches - before; n != 1 && time.Since(start) < lingerFor {
		t.Fatalf("%d batches for a remove, an update and an enqueue, want 1", n)
	}
	// The update may be held back a little longer, for a delete to
	// supersede it (holdUpdates): it comes within defaultUpdateHold.
	require.Eventually(t, func() bool {
		g := messages(t, db, "q")
		return len(g) == 3 && g[0].e.Seq == 1 && g[0].e.DeliveryCount == 1
	}, 5*time.Second, time.Millisecond, "a lone update was never committed")
	db.Remove("q", 1, nil)
	deadline := time.Now().Add(5 * time.Second)
	for len(messages(t, db, "q")) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("a lone remove was never committed")
		}
		time.Sleep(time.Millisecond)
	}
}
