package bench

import (
	"math"
	"math/bits"
	"slices"
)

// subBits sets the histogram's precision: each power of two is split into
// 1<<subBits buckets, so a recorded value is off by at most 1/128 (0.8 %).
const subBits = 7

const subCount = 1 << subBits

// Histogram records non-negative durations in nanoseconds in log-linear
// buckets (HdrHistogram's layout, two significant digits), in constant
// memory and without allocating per value. The zero value is ready to use;
// it is not safe for concurrent use: give each goroutine its own and Merge.
type Histogram struct {
	counts []uint64
	n      uint64
	max    int64
}

// bucket returns the bucket index of v (v >= 0).
func bucket(v int64) int {
	if v < subCount {
		return int(v)
	}
	exp := bits.Len64(uint64(v)) - subBits // >= 1
	return exp*subCount + int(v>>uint(exp-1)) - subCount
}

// bucketValue returns the highest value bucket i holds.
func bucketValue(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	exp := i / subCount
	sub := i%subCount + subCount
	return int64(sub+1)<<uint(exp-1) - 1
}

// Record adds one value; negative values count as 0.
func (h *Histogram) Record(v int64) {
	v = max(v, 0)
	i := bucket(v)
	if i >= len(h.counts) {
		h.counts = slices.Grow(h.counts, i+1-len(h.counts))[:i+1]
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, v)
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if len(o.counts) > len(h.counts) {
		h.counts = slices.Grow(h.counts, len(o.counts)-len(h.counts))[:len(o.counts)]
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest recorded value, exactly.
func (h *Histogram) Max() int64 { return h.max }

// Quantile returns the value at quantile q (0 < q <= 1) by the nearest-rank
// method, to within the histogram's precision and never above Max. It
// returns 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketValue(i), h.max)
		}
	}
	return h.max
}

// Percentile returns the nearest-rank q-quantile (0 < q <= 1) of sorted,
// which must be sorted ascending; 0 for an empty slice.
func Percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Median returns the median of values (the mean of the middle two for an
// even count) without modifying values; 0 for none.
func Median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
