package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    int
		want time.Duration
	}{{50, 100 * time.Millisecond}, {99, 198 * time.Millisecond}, {100, 200 * time.Millisecond}} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("percentile(1..200 ms, %d) = %v; want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(d[:1], 99); got != time.Millisecond {
		t.Errorf("percentile of one = %v; want 1ms", got)
	}
	if got := percentile(nil, 99); got != -1 {
		t.Errorf("percentile of none = %v; want -1", got)
	}
}

func TestSummaryCountsFailures(t *testing.T) {
	r := result{samples: []sample{{2 * time.Millisecond, nil}, {4 * time.Millisecond, nil}, {time.Second, errors.New("boom")}}}
	got := r.summary(time.Second, 10*time.Second)
	want := "scheduled=3 ok=2 failed=1 rate=2 p50_ms=4.00 p90_ms=10000.00 p99_ms=10000.00 max_ms=10000.00 first_error=\"boom\""
	if got != want {
		t.Errorf("summary:\n got %s\nwant %s", got, want)
	}
}

func TestLoadSendsTheScheduledRequests(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	c := config{url: srv.URL, rate: 200, duration: 200 * time.Millisecond, warmup: 50 * time.Millisecond, timeout: 5 * time.Second}
	clients := []*http.Client{srv.Client(), srv.Client()}
	res := load(clients, c)
	// 2 connections at 100 req/s each: 20 scheduled in the measured 200 ms, give or take
	// one at each end per connection.
	if n := len(res.samples); n < 38 || n > 42 {
		t.Errorf("%d requests measured; want about 40", n)
	}
	if s := res.summary(c.duration, c.timeout); !strings.Contains(s, " failed=0 ") {
		t.Errorf("summary %q; want no failure", s)
	}
	c.url = srv.URL + "/fail"
	if s := load(clients, c).summary(c.duration, c.timeout); !strings.Contains(s, " ok=0 ") || !strings.Contains(s, `first_error="status 500"`) {
		t.Errorf("summary %q for a 500; want ok=0", s)
	}
}
