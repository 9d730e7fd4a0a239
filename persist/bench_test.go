package persist

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/junctionmq/junction/core/store"
)

// BenchmarkEnqueueDurable measures confirmed durable enqueues with many in
// flight: every op is counted once its Done fires after the group sync.
func BenchmarkEnqueueDurable(b *testing.B) {
	db := openT(b, b.TempDir(), Options{GCInterval: -1})
	body := make([]byte, 1024)
	var seq atomic.Uint64
	b.SetParallelism(64) // 64 × GOMAXPROCS publishers in flight
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var wg sync.WaitGroup
		done := func(err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		}
		n := 0
		for pb.Next() {
			s := seq.Add(1)
			wg.Add(1)
			db.Enqueue("q", store.Entry{Seq: s, MsgID: s}, body, done)
			if n++; n%64 == 0 {
				wg.Wait() // a publisher confirm window of 64
			}
		}
		wg.Wait()
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
