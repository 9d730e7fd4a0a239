package persist

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/junctionmq/junction/core/store"
)

// pages reads seqs of queue back as a map seq → data.
func pages(t testing.TB, db *DB, queue string, seqs ...uint64) map[uint64]string {
	t.Helper()
	out := map[uint64]string{}
	err := db.PageIn(queue, seqs, func(i int, data []byte) { out[seqs[i]] = string(data) })
	if err != nil {
		t.Fatalf("PageIn(%q): %v", queue, err)
	}
	return out
}

func TestPageRoundTrip(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{GCInterval: -1})
	for seq := uint64(1); seq <= 5; seq++ {
		db.PageOut("a", seq, []byte(fmt.Sprintf("a%d", seq)), nil)
	}
	db.PageOut("a\x00b", 2, []byte("other"), nil) // a name that "a" prefixes
	if err := wait(func(d store.Done) { db.PageOut("b", 1, []byte("b1"), d) }); err != nil {
		t.Fatal(err)
	}
	want := map[uint64]string{1: "a1", 3: "a3", 5: "a5"}
	if got := pages(t, db, "a", 1, 3, 5, 9); !reflect.DeepEqual(got, want) {
		t.Fatalf("PageIn = %v, want %v", got, want)
	}
	db.RemovePaged("a", 3, nil)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	want = map[uint64]string{2: "a2", 4: "a4"}
	if got := pages(t, db, "a", 2, 3, 4); !reflect.DeepEqual(got, want) {
		t.Fatalf("after remove: PageIn = %v, want %v", got, want)
	}
	if err := wait(func(d store.Done) { db.DropPaged("a", d) }); err != nil {
		t.Fatal(err)
	}
	if got := pages(t, db, "a", 1, 2, 3, 4, 5); len(got) != 0 {
		t.Fatalf("after drop: PageIn = %v", got)
	}
	if got := pages(t, db, "a\x00b", 2); got[2] != "other" {
		t.Fatalf("drop of a reached a\\x00b: %v", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, dir, Options{GCInterval: -1})
	if got := pages(t, db, "b", 1); len(got) != 0 {
		t.Fatalf("pages survived a restart: %v", got)
	}
}

// A page removed or dropped in the batch that writes it never reaches the
// disk, and later pages of other queues are kept.
func TestPageCancelInBatch(t *testing.T) {
	db := openT(t, "", Options{InMemory: true})
	db.mu.Lock() // hold the writer back so that everything meets in one batch
	db.pending = append(db.pending,
		op{kind: opPageOut, name: "a", e: store.Entry{Seq: 1}, data: []byte("x")},
		op{kind: opPageOut, name: "a", e: store.Entry{Seq: 2}, data: []byte("y")},
		op{kind: opPageOut, name: "c", e: store.Entry{Seq: 1}, data: []byte("z")},
		op{kind: opRemovePaged, name: "a", e: store.Entry{Seq: 1}},
		op{kind: opDropPaged, name: "c"})
	db.mu.Unlock()
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := pages(t, db, "a", 1, 2); !reflect.DeepEqual(got, map[uint64]string{2: "y"}) {
		t.Fatalf("a: %v", got)
	}
	if got := pages(t, db, "c", 1); len(got) != 0 {
		t.Fatalf("c: %v", got)
	}
}
