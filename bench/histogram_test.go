package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBucketPrecision(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 123456, 1e9, 7e10} {
		i := bucket(v)
		hi := bucketValue(i)
		if hi < v {
			t.Errorf("bucketValue(bucket(%d)) = %d, below the value", v, hi)
		}
		if float64(hi-v) > float64(v)/subCount {
			t.Errorf("bucket of %d reaches %d: more than 1/%d off", v, hi, subCount)
		}
		if i > 0 && bucketValue(i-1) >= v {
			t.Errorf("previous bucket of %d already reaches %d", v, bucketValue(i-1))
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() int64
	}{
		{"uniform µs", func() int64 { return rng.Int64N(1_000_000) }},
		{"exponential ms", func() int64 { return int64(rng.ExpFloat64() * 2e6) }},
		{"constant", func() int64 { return 42_000 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a, b Histogram
			var exact []float64
			for i := range 10000 {
				v := tt.gen()
				exact = append(exact, float64(v))
				if i%2 == 0 {
					a.Record(v)
				} else {
					b.Record(v)
				}
			}
			a.Merge(&b)
			slices.Sort(exact)
			if a.Count() != 10000 || float64(a.Max()) != exact[len(exact)-1] {
				t.Fatalf("count %d max %d, want 10000 and %v", a.Count(), a.Max(), exact[len(exact)-1])
			}
			for _, q := range []float64{0.5, 0.99, 0.999, 1} {
				got, want := float64(a.Quantile(q)), Percentile(exact, q)
				if got < want || got > want*(1+1.0/subCount)+1 {
					t.Errorf("q%v = %v, exact %v", q, got, want)
				}
			}
		})
	}
}

func TestHistogramEmpty(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Max() != 0 {
		t.Fatal("empty histogram reports values")
	}
	h.Record(-5)
	if h.Quantile(0.5) != 0 {
		t.Fatal("negative value not clamped to 0")
	}
}

func TestPercentileMedian(t *testing.T) {
	tests := []struct {
		in       []float64
		p50, p99 float64
		median   float64
	}{
		{nil, 0, 0, 0},
		{[]float64{3}, 3, 3, 3},
		{[]float64{1, 2, 3, 4}, 2, 4, 2.5},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, 10, 5.5},
	}
	for _, tt := range tests {
		if got := Percentile(tt.in, 0.5); got != tt.p50 {
			t.Errorf("Percentile(%v, 0.5) = %v, want %v", tt.in, got, tt.p50)
		}
		if got := Percentile(tt.in, 0.99); got != tt.p99 {
			t.Errorf("Percentile(%v, 0.99) = %v, want %v", tt.in, got, tt.p99)
		}
		if got := Median(tt.in); got != tt.median {
			t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.median)
		}
	}
}

func TestWindowConfirm(t *testing.T) {
	w := newWindow(4)
	var h Histogram
	for seq := uint64(1); seq <= 4; seq++ {
		if _, err := w.acquire(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		w.sending(seq, int64(seq)*10)
	}
	if n := w.confirm(2, false, 100, &h); n != 1 {
		t.Fatalf("single ack of 2 confirmed %d", n)
	}
	if n := w.confirm(3, true, 100, &h); n != 2 { // 1 and 3; 2 already
		t.Fatalf("multiple ack of 3 confirmed %d", n)
	}
	if n := w.confirm(3, true, 100, &h); n != 0 {
		t.Fatalf("repeated ack confirmed %d", n)
	}
	if len(w.tokens) != 1 || h.Count() != 3 || h.Max() != 90 {
		t.Fatalf("outstanding %d, recorded %d, max %d", len(w.tokens), h.Count(), h.Max())
	}
}
