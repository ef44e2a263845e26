package main

import (
	"math"
	"testing"
	"time"
)

// TestLatencyQuantiles: quantiles of a known distribution come back within the buckets'
// 1 % precision, merged histograms add up, and an empty one says 0.
func TestLatencyQuantiles(t *testing.T) {
	var a, b latencies
	for i := 1; i <= 1000; i++ { // 1..1000 µs, half in each histogram
		h := &a
		if i%2 == 0 {
			h = &b
		}
		h.add(time.Duration(i) * time.Microsecond)
	}
	a.merge(&b)
	for _, tc := range []struct{ q, want float64 }{{0.5, 500}, {0.99, 990}, {0.999, 999}} {
		if got := a.quantile(tc.q); math.Abs(got-tc.want)/tc.want > 0.011 {
			t.Errorf("quantile(%v) = %.1f µs, want %.0f within 1 %%", tc.q, got, tc.want)
		}
	}
	var empty latencies
	if got := empty.quantile(0.5); got != 0 {
		t.Errorf("empty quantile = %v, want 0", got)
	}
	var long latencies
	long.add(time.Hour)
	if got := long.quantile(1); got < float64(time.Minute/time.Microsecond) {
		t.Errorf("an hour's request lands at %.0f µs, want past a minute", got)
	}
}
