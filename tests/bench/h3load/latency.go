package main

import (
	"fmt"
	"math"
	"time"
)

// latencies is a histogram of request latencies in logarithmic buckets, each growthPerBucket
// wider than the one before (about 1 % precision) from 1 µs to well past a minute. Each
// stream goroutine fills its own; they are merged when the run ends.
type latencies struct {
	counts [nBuckets]int64
}

const (
	growthPerBucket = 1.01
	nBuckets        = 2048
)

// bucketLog is the natural logarithm of growthPerBucket.
var bucketLog = math.Log(growthPerBucket)

// add records one request that took d.
func (h *latencies) add(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	i := 0
	if us > 1 {
		i = min(int(math.Log(us)/bucketLog), nBuckets-1)
	}
	h.counts[i]++
}

// merge adds o's counts to h.
func (h *latencies) merge(o *latencies) {
	for i, n := range o.counts {
		h.counts[i] += n
	}
}

// quantile returns the latency below which fraction q of the requests were, in µs (the
// upper edge of its bucket); 0 without requests.
func (h *latencies) quantile(q float64) float64 {
	var total int64
	for _, n := range h.counts {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, n := range h.counts {
		if seen += n; seen >= rank {
			return math.Pow(growthPerBucket, float64(i+1))
		}
	}
	return math.Pow(growthPerBucket, nBuckets)
}

// String is the line h3load prints: "latency p50 <µs> µs, p99 <µs> µs, p99.9 <µs> µs".
func (h *latencies) String() string {
	return fmt.Sprintf("latency p50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs", h.quantile(0.5), h.quantile(0.99), h.quantile(0.999))
}
