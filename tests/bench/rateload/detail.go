package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"time"
)

// detail is the second line of -detail: the 99.9th percentile of the latency (a failed
// request counted as in summary) and the client's own lag (scheduled time to the start of
// the request: its timer and goroutine scheduling, about 0.5 ms at the median from Go's
// millisecond timer resolution when idle) at p50, p99 and p99.9, so the client's share of
// a tail shows apart from the server's; then each request's latency less its lag (svc:
// from the request's start to the end of its body, the server's and the network's share)
// at p50, p90, p99 and p99.9. On a machine busy with other work the client's lag can make
// most of a tail; svc leaves it out (a request that started late may still have waited
// for a core on the client's side while it was in flight).
func (r result) detail(timeout time.Duration) string {
	lat := make([]time.Duration, 0, len(r.samples))
	svc := make([]time.Duration, 0, len(r.samples))
	for i, s := range r.samples {
		if s.err != nil {
			s.latency = max(s.latency, timeout)
		}
		lat = append(lat, s.latency)
		if i < len(r.lags) {
			svc = append(svc, s.latency-r.lags[i])
		}
	}
	lag := slices.Clone(r.lags)
	slices.Sort(lat)
	slices.Sort(lag)
	slices.Sort(svc)
	return fmt.Sprintf("p999_ms=%s lag_p50_ms=%s lag_p99_ms=%s lag_p999_ms=%s svc_p50_ms=%s svc_p90_ms=%s svc_p99_ms=%s svc_p999_ms=%s",
		ms(permille(lat, 999)), ms(permille(lag, 500)), ms(permille(lag, 990)), ms(permille(lag, 999)),
		ms(permille(svc, 500)), ms(permille(svc, 900)), ms(permille(svc, 990)), ms(permille(svc, 999)))
}

// permille returns the p-th permille of the sorted durations (nearest rank), or -1 if
// there are none.
func permille(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return -1
	}
	i := (len(sorted)*p + 999) / 1000
	return sorted[max(i, 1)-1]
}

// dump writes one line per sample to w: its latency and its lag in microseconds, 1 if it
// failed, and its scheduled time (Unix microseconds).
func (r result) dump(w io.Writer) error {
	b := bufio.NewWriter(w)
	for i, s := range r.samples {
		failed, lag, at := 0, time.Duration(0), int64(0)
		if s.err != nil {
			failed = 1
		}
		if i < len(r.lags) {
			lag, at = r.lags[i], r.ats[i].UnixMicro()
		}
		fmt.Fprintf(b, "%d %d %d %d\n", s.latency.Microseconds(), lag.Microseconds(), failed, at)
	}
	return b.Flush()
}
