package proxy

import (
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

func TestActiveHealthCheck(t *testing.T) {
	var sick atomic.Bool
	var checks atomic.Int64
	a := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			checks.Add(1)
			if sick.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
			return
		}
		io.WriteString(w, "a")
	})
	b := newBackend(t, named("b"))
	m := newManager(t, Options{})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{a.URL, b.URL},
		HealthCheck: &site.HealthCheck{Path: "/healthz", Interval: 20 * time.Millisecond, Timeout: time.Second}})
	fe := front(t, h)
	served := func(n int) map[string]int {
		got := map[string]int{}
		for range n {
			_, body := get(t, fe.Client(), fe.URL)
			got[body]++
		}
		return got
	}
	if got := served(10); got["a"] != 5 {
		t.Fatalf("healthy: distribution %v; want 5 each", got)
	}

	sick.Store(true)
	eventually(t, 5*time.Second, "active check to mark a down", h.targets[0].up.down.Load)
	if got := served(10); got["a"] != 0 {
		t.Fatalf("a is down but served %d of 10 requests", got["a"])
	}

	sick.Store(false)
	eventually(t, 5*time.Second, "active check to mark a up", func() bool { return !h.targets[0].up.down.Load() })
	if got := served(10); got["a"] != 5 {
		t.Fatalf("recovered: distribution %v; want 5 each", got)
	}
	// Marking down and up took one check each; the checker goes on checking after that
	// (waited for, not assumed: on a loaded machine the two may be all that ran so far).
	seen := checks.Load()
	eventually(t, 5*time.Second, "active checks to go on", func() bool { return checks.Load() > seen })
}

func TestAllDownIs503(t *testing.T) {
	a := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	m := newManager(t, Options{})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{a.URL},
		HealthCheck: &site.HealthCheck{Path: "/healthz", Interval: 3 * time.Second, ExpectStatus: 204}})
	eventually(t, 5*time.Second, "upstream marked down", h.targets[0].up.down.Load)
	fe := front(t, h)
	hits := a.hits.Load()
	res, err := fe.Client().Get(fe.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 503 || string(body) != "503 Service Unavailable\n" || res.Header.Get("Retry-After") != "3" {
		t.Fatalf("got %d %q Retry-After %q; want 503 with Retry-After 3", res.StatusCode, body, res.Header.Get("Retry-After"))
	}
	if a.hits.Load() != hits {
		t.Errorf("a down upstream got the request")
	}
}

func TestCheckOnceStatus(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		code := map[string]int{"/ok": 200, "/redirect": 302, "/err": 500, "/nocontent": 204}[r.URL.Path]
		if code == 302 {
			w.Header().Set("Location", "/elsewhere-that-404s")
		}
		w.WriteHeader(code)
	})
	tests := []struct {
		path   string
		expect int
		ok     bool
	}{
		{"/ok", 0, true},
		{"/redirect", 0, true}, // not followed
		{"/err", 0, false},
		{"/nocontent", 204, true},
		{"/ok", 204, false},
	}
	for _, tt := range tests {
		hc := &site.HealthCheck{Path: tt.path, Timeout: time.Second, ExpectStatus: tt.expect}
		err := checkOnce(t.Context(), checkClient(nil), b.Server.URL+tt.path, hc)
		if (err == nil) != tt.ok {
			t.Errorf("%s expect %d: err = %v; want ok=%v", tt.path, tt.expect, err, tt.ok)
		}
	}
}

// TestHealthCheckIntervalJitter: intervals stay within ±10% and are not all equal, so checks
// started together spread out.
func TestHealthCheckIntervalJitter(t *testing.T) {
	const d = 10 * time.Second
	seen := map[time.Duration]bool{}
	for range 1000 {
		j := jittered(d)
		if j < 9*time.Second || j > 11*time.Second {
			t.Fatalf("jittered(%v) = %v; want within ±10%%", d, j)
		}
		seen[j] = true
	}
	if len(seen) < 900 {
		t.Errorf("%d distinct intervals in 1000 draws; want them spread", len(seen))
	}
}
