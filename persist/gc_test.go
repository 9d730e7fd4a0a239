package persist

import (
	"crypto/rand"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/store"
)

// diskUsage is the space dir's files take on disk (sparse files count
// only their written blocks).
func diskUsage(t *testing.T, dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			}
		}
		return nil
	})
	return n
}

func TestGCShrinks(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB")
	}
	dir := t.TempDir()
	db := openT(t, dir, Options{GCInterval: -1})
	random := make([]byte, 8<<20)
	_, _ = rand.Read(random) // incompressible, and no two bodies alike
	const total = 64 << 10   // 64 MiB of 1 KiB messages
	const bound = 24 << 20
	for seq := uint64(1); seq <= total; seq++ {
		off := seq * 1024 % uint64(len(random)-1024)
		db.Enqueue("q", store.Entry{Seq: seq, MsgID: seq}, random[off+seq%1024/8:][:1024], nil)
		if seq%4096 == 0 {
			if err := db.Flush(); err != nil { // no cancel-out: all on disk
				t.Fatal(err)
			}
		}
	}
	full := diskUsage(t, dir)
	if full < 2*bound {
		t.Fatalf("only %d MiB on disk before removal", full>>20)
	}
	for seq := uint64(1); seq <= total; seq++ {
		db.Remove("q", seq, nil)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var now int64
	for {
		if err := db.RunGC(); err != nil {
			t.Fatal(err)
		}
		if now = diskUsage(t, dir); now < bound || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("disk usage: %d MiB full, %d MiB after GC", full>>20, now>>20)
	if now >= bound {
		t.Fatalf("disk usage %d MiB after GC, want < %d MiB", now>>20, bound>>20)
	}
}

func TestMigrateV0(t *testing.T) {
	dir := t.TempDir()
	// Write a format-0 store by hand: entries under "e/".
	bdb, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, "store")).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(txn *badger.Txn) error {
		for seq := uint64(1); seq <= 3; seq++ {
			k := append([]byte(prefixQueueV0), entryKey("q", seq)[len(prefixQueue):]...)
			if err := txn.Set(k, appendEntry(nil, store.Entry{MsgID: 9})); err != nil {
				return err
			}
		}
		if err := txn.Set(msgKey(9), []byte("body")); err != nil {
			return err
		}
		return txn.Set([]byte(formatKey), []byte{0, 0, 0, 0})
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = bdb.Close()

	db := openT(t, dir, Options{})
	g := messages(t, db, "q")
	if len(g) != 3 || g[2].e.Seq != 3 || g[0].data != "body" || db.refs[9] != 3 {
		t.Fatalf("after migration: %v refs %v", g, db.refs)
	}
	if v, _, _ := readFormat(db.bdb); v != FormatVersion {
		t.Fatalf("format %d after migration", v)
	}
}
