package persist

import (
	"sync/atomic"
	"time"
)

// CommitBuckets are the upper bounds, in seconds, of the commit latency
// histogram: from 100 µs to about 3.3 s, doubling.
var CommitBuckets = func() []float64 {
	b := make([]float64, 16)
	for i := range b {
		b[i] = 100e-6 * float64(uint64(1)<<i)
	}
	return b
}()

// latencyHist is a lock-free histogram of batch commit durations (write
// and sync), in the buckets of CommitBuckets plus an overflow bucket.
type latencyHist struct {
	counts [17]atomic.Uint64
	sumNs  atomic.Uint64
}

func (h *latencyHist) observe(d time.Duration) {
	i := 0
	for i < len(CommitBuckets) && d.Seconds() > CommitBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(d))
}

// CommitLatency is a snapshot of the commit latency histogram.
type CommitLatency struct {
	Count   uint64
	Sum     time.Duration
	Buckets []uint64 // cumulative count at or below CommitBuckets[i]
}

func (h *latencyHist) snapshot() CommitLatency {
	s := CommitLatency{Buckets: make([]uint64, len(CommitBuckets)), Sum: time.Duration(h.sumNs.Load())}
	for i := range h.counts {
		s.Count += h.counts[i].Load()
		if i < len(CommitBuckets) {
			s.Buckets[i] = s.Count
		}
	}
	return s
}

// CommitLatency returns the durations of the batches committed so far
// (Badger write plus sync, per batch that wrote anything).
func (db *DB) CommitLatency() CommitLatency { return db.commitLat.snapshot() }

// Size returns the store's size on disk in bytes: LSM tree and value log,
// as Badger last computed it, and stream segment files.
func (db *DB) Size() int64 {
	lsm, vlog := db.bdb.Size()
	return lsm + vlog + db.segFiles.diskBytes()
}
