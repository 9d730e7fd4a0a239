package stream

import (
	"testing"
	"time"
)

// BenchmarkAppend measures Append with the tail cache and a store that
// completes at once (the cost of the stream itself).
func BenchmarkAppend(b *testing.B) {
	s := Create(&nopStore{}, "b", Options{})
	data := make([]byte, 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Append(KindRaw, data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendParallel is Append from every P at once.
func BenchmarkAppendParallel(b *testing.B) {
	s := Create(&nopStore{}, "b", Options{})
	data := make([]byte, 100)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Append(KindRaw, data, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkReadCached reads batches of 100 from the tail cache.
func BenchmarkReadCached(b *testing.B) {
	s := Create(&nopStore{}, "b", Options{})
	data := make([]byte, 100)
	for i := 0; i < 1000; i++ {
		s.Append(KindRaw, data, nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		recs, _, err := s.Read(uint64(i%900), 100, 0)
		if err != nil || len(recs) != 100 {
			b.Fatal(err, len(recs))
		}
	}
}

// BenchmarkReadStore reads batches of 100 that miss the cache and go to
// the (in-memory fake) store.
func BenchmarkReadStore(b *testing.B) {
	st := newFakeStore()
	s, _ := Open(st, "b", Options{CacheRecords: 16})
	data := make([]byte, 100)
	for i := 0; i < 1000; i++ {
		s.Append(KindRaw, data, nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		recs, _, err := s.Read(uint64(i%800), 100, 0)
		if err != nil || len(recs) != 100 {
			b.Fatal(err, len(recs))
		}
	}
}

// BenchmarkSeekTime seeks by arrival time over 100k records.
func BenchmarkSeekTime(b *testing.B) {
	c := &fakeClock{}
	s := Create(&nopStore{}, "b", Options{Now: c.Now, CacheRecords: 1 << 17})
	for i := 0; i < 100000; i++ {
		s.Append(KindRaw, []byte{1}, nil)
		c.Advance(1000)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.SeekTime(c.Now().Add(-int64dur(i%100000) * 1000))
	}
}

func int64dur(i int) time.Duration { return time.Duration(i) }

// BenchmarkPartitionFor routes a partition key among 64 partitions.
func BenchmarkPartitionFor(b *testing.B) {
	ps, _ := NewPartitioned(&nopStore{}, "b", 64, Options{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ps.PartitionFor(HashKeyFor("user-42")); err != nil {
			b.Fatal(err)
		}
	}
}
