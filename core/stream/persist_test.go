package stream

import (
	"fmt"
	"testing"

	"github.com/junctionmq/junction/persist"
)

// TestWithBadger runs a stream over the real store: durable appends, reads
// that miss the cache, trimming, and recovery after the DB is reopened.
func TestWithBadger(t *testing.T) {
	dir := t.TempDir()
	db, err := persist.Open(dir, persist.Options{GCInterval: -1})
	must.NoError(t, err)
	s, err := Open(db, "v/q", Options{CacheRecords: 8, IndexInterval: 4, MaxBytes: 300})
	must.NoError(t, err)
	const n = 50
	dones := make(chan error, n)
	for i := 0; i < n; i++ {
		_, err := s.Append(KindRaw, []byte(fmt.Sprintf("rec-%04d"+"..", i)), func(err error) { dones <- err })
		must.NoError(t, err)
	}
	for i := 0; i < n; i++ {
		must.NoError(t, <-dones)
	}
	recs := readAll(t, s, 0)
	must.Len(t, recs, n)
	check.Equal(t, "rec-0003..", string(recs[3].Data))

	first, err := s.Enforce(s.now()) // 10 bytes each, keep 300
	must.NoError(t, err)
	check.Equal(t, uint64(20), first)
	must.NoError(t, db.Flush())
	s.Close()
	must.NoError(t, db.Close())

	db, err = persist.Open(dir, persist.Options{GCInterval: -1})
	must.NoError(t, err)
	defer db.Close()
	s, err = Open(db, "v/q", Options{CacheRecords: 8})
	must.NoError(t, err)
	f, next := s.Bounds()
	check.Equal(t, [2]uint64{20, n}, [2]uint64{f, next})
	check.Equal(t, int64(300), s.Bytes())
	recs = readAll(t, s, 0)
	must.Len(t, recs, n-20)
	check.Equal(t, "rec-0020..", string(recs[0].Data))
	off, err := s.Append(KindRaw, []byte("more"), nil)
	must.NoError(t, err)
	check.Equal(t, uint64(n), off)
}
