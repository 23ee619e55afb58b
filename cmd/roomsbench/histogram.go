package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram is an HDR-like latency histogram: values in nanoseconds fall into
// log-linear buckets, subBuckets per power of two, so every recorded value is
// known to within 1/subBuckets (under 1%) of itself. Record is lock-free and
// allocation-free, so every receiver goroutine shares one histogram.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64
}

const (
	subBucketBits = 7
	subBuckets    = 1 << subBucketBits // 128: ~0.8% resolution
	// histBuckets covers every non-negative int64.
	histBuckets = (64 - subBucketBits + 1) * subBuckets
)

// bucketOf returns the bucket index of v (negative values count as 0).
func bucketOf(v int64) int {
	if v < subBuckets {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	u := uint64(v)
	shift := bits.Len64(u) - subBucketBits - 1 // bits below the top subBucketBits+1
	// The top bit is implied; the next subBucketBits bits pick the sub-bucket.
	return (shift+1)*subBuckets + int((u>>uint(shift))&(subBuckets-1))
}

// bucketLow returns the smallest value that falls into bucket i.
func bucketLow(i int) int64 {
	if i < subBuckets {
		return int64(i)
	}
	shift := i/subBuckets - 1
	sub := i % subBuckets
	return int64(subBuckets+sub) << uint(shift)
}

// bucketHigh returns the largest value that falls into bucket i.
func bucketHigh(i int) int64 {
	if i+1 >= histBuckets {
		return 1<<63 - 1
	}
	return bucketLow(i+1) - 1
}

// Record adds one latency.
func (h *histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns how many values were recorded.
func (h *histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest recorded value, exactly.
func (h *histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the value at quantile q (0 < q <= 1): the upper end of the
// bucket that holds the ceil(q*count)-th smallest value, capped at the
// exact maximum. It is 0 when nothing was recorded.
func (h *histogram) Quantile(q float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q * float64(n))
	if float64(rank) < q*float64(n) {
		rank++
	}
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			v := bucketHigh(i)
			if m := h.max.Load(); v > m {
				v = m
			}
			return time.Duration(v)
		}
	}
	return h.Max()
}
