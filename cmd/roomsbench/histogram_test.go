package main

import (
	"math"
	"math/rand"
	"sort"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 123456789, 1 << 40, math.MaxInt64} {
		i := bucketOf(v)
		if lo, hi := bucketLow(i), bucketHigh(i); v < lo || v > hi {
			t.Errorf("value %d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
		if i >= histBuckets {
			t.Errorf("value %d: bucket %d out of range", v, i)
		}
	}
	// Buckets are contiguous and no wider than 1/subBuckets of their values.
	for i := 0; i+1 < histBuckets; i++ {
		if bucketHigh(i)+1 != bucketLow(i+1) {
			t.Fatalf("gap after bucket %d", i)
		}
		if lo := bucketLow(i); lo >= subBuckets {
			if w := bucketHigh(i) - lo + 1; float64(w) > float64(lo)/subBuckets {
				t.Fatalf("bucket %d too wide: %d at %d", i, w, lo)
			}
		}
	}
}

func TestQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one value", []time.Duration{42}, 0.99, 42},
		{"median of 1..100", seq(100), 0.5, 50},
		{"p99 of 1..100", seq(100), 0.99, 99},
		{"p100 is the max", seq(100), 1, 100},
		{"p99.9 of 1..1000", seq(1000), 0.999, 999},
	}
	for _, tt := range tests {
		var h histogram
		for _, v := range tt.values {
			h.Record(v)
		}
		got := h.Quantile(tt.q)
		if !within(got, tt.want, 1.0/subBuckets) {
			t.Errorf("%s: Quantile(%v) = %v, want %v", tt.name, tt.q, got, tt.want)
		}
	}
}

// TestQuantilesAgainstSort checks the histogram against an exact sorted
// sample of random latencies spanning microseconds to seconds.
func TestQuantilesAgainstSort(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var h histogram
	vals := make([]int64, 100000)
	for i := range vals {
		vals[i] = int64(math.Exp(r.Float64()*15) * 1000) // 1µs .. ~3s
		h.Record(time.Duration(vals[i]))
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := time.Duration(vals[int(math.Ceil(q*float64(len(vals))))-1])
		if got := h.Quantile(q); !within(got, exact, 1.0/subBuckets) {
			t.Errorf("q=%v: got %v, exact %v", q, got, exact)
		}
	}
	if h.Max() != time.Duration(vals[len(vals)-1]) || h.Count() != uint64(len(vals)) {
		t.Errorf("max %v count %d", h.Max(), h.Count())
	}
}

func seq(n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = time.Duration(i + 1)
	}
	return s
}

func within(got, want time.Duration, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)+0.5
}
