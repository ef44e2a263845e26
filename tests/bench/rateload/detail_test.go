package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDetail(t *testing.T) {
	var r result
	at := time.UnixMicro(1_000_000)
	for i := 1; i <= 1000; i++ {
		r.samples = append(r.samples, sample{latency: time.Duration(i) * time.Millisecond})
		r.lags = append(r.lags, time.Duration(i)*time.Microsecond)
		r.ats = append(r.ats, at)
	}
	want := "p999_ms=999.00 lag_p50_ms=0.50 lag_p99_ms=0.99 lag_p999_ms=1.00 svc_p50_ms=499.50 svc_p90_ms=899.10 svc_p99_ms=989.01 svc_p999_ms=998.00"
	if got := r.detail(10 * time.Second); got != want {
		t.Errorf("detail:\n got %s\nwant %s", got, want)
	}
	r.samples[0].err = errors.New("boom")
	r.samples[1].err = errors.New("boom")
	if got := r.detail(10 * time.Second); !strings.HasPrefix(got, "p999_ms=10000.00 ") {
		t.Errorf("detail with two failures: %s; want p999 at the timeout", got)
	}
}

func TestDump(t *testing.T) {
	r := result{
		samples: []sample{{1500 * time.Microsecond, nil}, {2 * time.Millisecond, errors.New("boom")}},
		lags:    []time.Duration{300 * time.Microsecond, 0},
		ats:     []time.Time{time.UnixMicro(42), time.UnixMicro(43)},
	}
	var b strings.Builder
	if err := r.dump(&b); err != nil {
		t.Fatal(err)
	}
	if want := "1500 300 0 42\n2000 0 1 43\n"; b.String() != want {
		t.Errorf("dump %q; want %q", b.String(), want)
	}
}
