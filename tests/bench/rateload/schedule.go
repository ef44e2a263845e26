package main

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// sample is one measured request: its latency from its scheduled time, and why it failed
// (nil if it succeeded).
type sample struct {
	latency time.Duration
	err     error
}

// result is what load measured. lags[i], if set, is how late the client itself started
// samples[i] (its goroutine's start after the scheduled time: the client's own timer and
// scheduling, not the server's), and ats[i] its scheduled time.
type result struct {
	samples []sample
	lags    []time.Duration
	ats     []time.Time
}

// load sends c.rate requests per second in total for c.warmup + c.duration, connection i
// of n starting i/n of an interval after the others, and returns the samples of the
// requests scheduled in the measured window (after the warm-up), once all have ended.
func load(clients []*http.Client, c config) result {
	interval := time.Duration(float64(time.Second) * float64(len(clients)) / c.rate)
	start := time.Now().Add(10 * time.Millisecond)
	from, until := start.Add(c.warmup), start.Add(c.warmup+c.duration)
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	for i, client := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := start.Add(interval * time.Duration(i) / time.Duration(len(clients)))
			for at := first; at.Before(until); at = at.Add(interval) {
				time.Sleep(time.Until(at))
				measured := !at.Before(from)
				wg.Add(1)
				go func() {
					defer wg.Done()
					lag := time.Since(at)
					err := get(client, c.url)
					if measured {
						s := sample{latency: time.Since(at), err: err}
						mu.Lock()
						res.samples = append(res.samples, s)
						res.lags = append(res.lags, lag)
						res.ats = append(res.ats, at)
						mu.Unlock()
					}
				}()
			}
		}()
	}
	wg.Wait()
	return res
}

// summary is the one-line report of r over a window of d. A failed request counts as
// answered after timeout (or its own latency if longer), so failing fast never looks fast.
func (r result) summary(d, timeout time.Duration) string {
	lat := make([]time.Duration, 0, len(r.samples))
	failed := 0
	var first error
	for _, s := range r.samples {
		if s.err != nil {
			failed++
			first = cmp.Or(first, s.err)
			s.latency = max(s.latency, timeout)
		}
		lat = append(lat, s.latency)
	}
	slices.Sort(lat)
	ok := len(lat) - failed
	line := fmt.Sprintf("scheduled=%d ok=%d failed=%d rate=%.0f p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s",
		len(r.samples), ok, failed, float64(ok)/d.Seconds(),
		ms(percentile(lat, 50)), ms(percentile(lat, 90)), ms(percentile(lat, 99)), ms(percentile(lat, 100)))
	if first != nil {
		line += fmt.Sprintf(" first_error=%q", first.Error())
	}
	return line
}

// percentile returns the p-th percentile of the sorted durations (nearest rank), or -1 if
// there are none.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return -1
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i, 1)-1]
}

// ms formats d in milliseconds with two decimals, or "-" if negative.
func ms(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}
