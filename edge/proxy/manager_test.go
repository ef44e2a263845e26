package proxy

import (
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

func TestHandlerReuseKeepsPool(t *testing.T) {
	b := newBackend(t, named("b"))
	m := newManager(t, Options{})
	cfg := site.Route{Path: "/", Upstreams: []*url.URL{b.URL}}
	h1 := mustNamedHandler(t, m, "site /", cfg)
	fe := front(t, h1)
	for range 5 {
		get(t, fe.Client(), fe.URL)
	}
	if n := b.conns.Load(); n != 1 {
		t.Fatalf("5 sequential requests opened %d upstream connections; want 1", n)
	}

	// A snapshot swap: the same route is compiled again from a fresh, equal Route.
	u := *b.URL
	cfg2 := site.Route{Path: "/", Upstreams: []*url.URL{&u}}
	h2 := mustNamedHandler(t, m, "site /", cfg2)
	if h2 != h1 {
		t.Fatal("equal config got a new Handler")
	}
	m.Sweep([]*Handler{h2})
	fe2 := front(t, h2)
	for range 5 {
		get(t, fe2.Client(), fe2.URL)
	}
	if n := b.conns.Load(); n != 1 {
		t.Errorf("after the swap %d upstream connections; want the pooled 1 reused", n)
	}

	// Another route to the same upstream with the same settings shares the pool too.
	h3 := mustNamedHandler(t, m, "site /api", site.Route{Path: "/api", StripPrefix: true, Upstreams: []*url.URL{b.URL}})
	if h3 == h1 || h3.targets[0].up != h1.targets[0].up {
		t.Fatal("second route does not share the upstream state")
	}
	// Different transport settings get their own upstream state.
	h4 := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL}, Timeouts: site.Timeouts{Response: time.Second}})
	if h4.targets[0].up == h1.targets[0].up {
		t.Fatal("different timeouts share upstream state")
	}
}

func TestSweep(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {})
	c := newBackend(t, func(w http.ResponseWriter, r *http.Request) {})
	m := newManager(t, Options{})
	hc := &site.HealthCheck{Path: "/h", Interval: 10 * time.Millisecond}
	hb := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL}, HealthCheck: hc})
	hcH := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{c.URL}, HealthCheck: hc})
	if n := m.checkers.Load(); n != 2 {
		t.Fatalf("%d health-check goroutines; want 2", n)
	}
	// Snapshot 1 has both; both were obtained since the last sweep anyway.
	if n := m.Sweep([]*Handler{hb, hcH}); n != 0 {
		t.Fatalf("released %d; want 0", n)
	}
	// Snapshot 2 drops c's route. A route obtained for a snapshot still being built (not
	// in keep) survives this sweep.
	building := mustHandler(t, m, site.Route{Path: "/new", Upstreams: []*url.URL{c.URL}})
	if n := m.Sweep([]*Handler{hb}); n != 1 {
		t.Fatalf("released %d upstreams; want 1 (c's health-checked one)", n)
	}
	eventually(t, 5*time.Second, "c's health check to stop", func() bool { return m.checkers.Load() == 1 })
	if got := len(m.Upstreams()); got != 2 { // b (checked) and c (unchecked, for "building")
		t.Errorf("%d upstreams; want 2", got)
	}
	// Next sweep without it releases the building one too.
	if n := m.Sweep([]*Handler{hb}); n != 1 {
		t.Fatalf("released %d; want 1", n)
	}
	_ = building
	// A fresh Handler for c's route gets new state and a new check.
	again := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{c.URL}, HealthCheck: hc})
	if again == hcH {
		t.Error("released handler returned again")
	}
	if n := m.checkers.Load(); n != 2 {
		t.Errorf("%d health-check goroutines; want 2", n)
	}
	m.Close()
	if n := m.checkers.Load(); n != 0 {
		t.Errorf("after Close %d health-check goroutines; want 0", n)
	}
	if _, err := m.Handler("", &site.Route{Path: "/", Upstreams: []*url.URL{b.URL}}); err != ErrClosed {
		t.Errorf("Handler after Close: err = %v; want ErrClosed", err)
	}
}

func TestSweptHandlerStillServes(t *testing.T) {
	b := newBackend(t, named("old"))
	m := newManager(t, Options{})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL}})
	m.Sweep(nil)
	m.Sweep(nil) // released: an old snapshot may still hand it requests
	fe := front(t, h)
	if code, body := get(t, fe.Client(), fe.URL); code != 200 || body != "old" {
		t.Fatalf("got %d %q; want 200 old", code, body)
	}
}

func TestUpstreamsStatus(t *testing.T) {
	m := newManager(t, Options{})
	dead := deadURL(t)
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{dead}})
	fe := front(t, h)
	get(t, fe.Client(), fe.URL)
	st := m.Upstreams()
	if len(st) != 1 || st[0].URL != dead.String() || st[0].Failures != 1 || st[0].EjectedUntil.IsZero() {
		t.Fatalf("Upstreams() = %+v; want one ejected upstream with 1 failure", st)
	}
}

// TestSwapUnderLoad rebuilds and sweeps while requests flow: no request fails and the
// race detector sees no conflict between the hot path and the manager.
func TestSwapUnderLoad(t *testing.T) {
	a, b := newBackend(t, named("a")), newBackend(t, named("b"))
	m := newManager(t, Options{})
	cfgs := []site.Route{
		{Path: "/", Upstreams: []*url.URL{a.URL, b.URL}, Retries: 1},
		{Path: "/", Upstreams: []*url.URL{a.URL, b.URL}, Retries: 1, Balance: site.LeastConn, Timeouts: site.Timeouts{Response: 30 * time.Second}}, // own upstream state: released every other swap
	}
	var cur atomic.Pointer[Handler]
	cur.Store(mustHandler(t, m, cfgs[0]))
	fe := front(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cur.Load().ServeHTTP(w, r) }))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := fe.Client().Get(fe.URL)
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					bad.Add(1)
				}
			}
		}()
	}
	for i := range 50 {
		h := mustHandler(t, m, cfgs[i%2])
		cur.Store(h)
		m.Sweep([]*Handler{h})
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d requests failed during swaps; want 0", n)
	}
}
