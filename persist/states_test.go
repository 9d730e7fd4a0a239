package persist

import (
	"fmt"
	"sync"
	"testing"

	"github.com/junctionmq/junction/core/store"
)

// TestPutStates checks that batched state writes apply in order, survive a
// reopen, share batches when submitted together, and fail after Close.
func TestPutStates(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{})
	if err := db.PutState("ns", "old", []byte("x")); err != nil {
		t.Fatal(err)
	}
	ops := []store.StateOp{
		{NS: "ns", Key: "a", Val: []byte("1")},
		{NS: "ns", Key: "b", Val: []byte("2")},
		{NS: "ns", Key: "a", Val: []byte("3")}, // later write of a key wins
		{NS: "ns", Key: "old", Delete: true},
		{NS: "other", Key: "c", Val: []byte("4")},
		{NS: "ns", Key: "b", Delete: true},
		{NS: "ns", Key: "b", Val: []byte("5")},
	}
	if err := wait(func(d store.Done) { db.PutStates(ops, d) }); err != nil {
		t.Fatal(err)
	}
	if err := wait(func(d store.Done) { db.PutStates(nil, d) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, dir, Options{})
	dump := func(ns string) string {
		var out []string
		_ = db.States(ns, func(k string, v []byte) error { out = append(out, k+"="+string(v)); return nil })
		return fmt.Sprint(out)
	}
	if got := dump("ns") + dump("other"); got != "[a=3 b=5][c=4]" {
		t.Fatalf("states %s", got)
	}

	// Concurrent submissions are group-committed.
	before := db.Stats().Batches
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		db.PutStates([]store.StateOp{{NS: "g", Key: fmt.Sprint(i), Val: []byte("v")}}, func(err error) {
			errs <- err
			wg.Done()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := db.Stats().Batches - before; n >= 200 {
		t.Fatalf("%d batches for 200 submissions: not group-committed", n)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wait(func(d store.Done) { db.PutStates(ops, d) }); err != store.ErrClosed {
		t.Fatalf("after Close: %v", err)
	}
}
