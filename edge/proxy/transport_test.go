package proxy

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

func TestFailoverWhenUpstreamDies(t *testing.T) {
	m := newManager(t, Options{EjectBackoff: time.Minute})
	a := newBackend(t, named("a"))
	b := newBackend(t, named("b"))
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{a.URL, b.URL}, Retries: 1})
	fe := front(t, h)
	for range 4 { // warm both pools
		get(t, fe.Client(), fe.URL)
	}
	a.CloseClientConnections()
	a.Close() // listener gone: dials are refused

	var wg sync.WaitGroup
	var failures atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				res, err := fe.Client().Get(fe.URL)
				if err != nil {
					failures.Add(1)
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || string(body) != "b" {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of 100 GETs failed while one of two upstreams was down; want 0", n)
	}
	if ok, _ := h.targets[0].up.available(new(int64)); ok {
		t.Errorf("dead upstream not ejected")
	}
}

func TestEjectionAndRecovery(t *testing.T) {
	m := newManager(t, Options{EjectBackoff: 100 * time.Millisecond, MaxEjectBackoff: 400 * time.Millisecond})
	// Reserve a port, serve nothing on it yet.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	flaky := &url.URL{Scheme: "http", Host: addr}
	stable := newBackend(t, named("stable"))
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{flaky, stable.URL}, Retries: 1})
	fe := front(t, h)
	up := h.targets[0].up

	for range 4 {
		if code, body := get(t, fe.Client(), fe.URL); code != 200 || body != "stable" {
			t.Fatalf("got %d %q; want 200 stable", code, body)
		}
	}
	if up.fails.Load() == 0 {
		t.Fatal("failure not recorded")
	}
	if ok, _ := up.available(new(int64)); ok {
		t.Fatal("failing upstream not ejected")
	}
	// Keep failing: the backoff grows but is capped.
	for range 6 {
		up.failed(&m.opts)
	}
	if d := time.Until(time.Unix(0, up.ejectedUntil.Load())); d > 400*time.Millisecond {
		t.Errorf("ejection %v; want at most the 400ms cap", d)
	}

	// The upstream comes back on the same port.
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port %s taken meanwhile: %v", addr, err)
	}
	srv := &http.Server{Handler: named("flaky")}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	eventually(t, 5*time.Second, "recovered upstream to get traffic", func() bool {
		_, body := get(t, fe.Client(), fe.URL)
		return body == "flaky"
	})
	if up.fails.Load() != 0 || up.ejectedUntil.Load() != 0 {
		t.Errorf("success did not clear ejection: fails %d", up.fails.Load())
	}
}

func TestFailOpenWhenAllEjected(t *testing.T) {
	m := newManager(t, Options{EjectBackoff: time.Minute})
	b := newBackend(t, named("ok"))
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL}})
	h.targets[0].up.failed(&m.opts) // ejected for a minute, e.g. after a restart blip
	fe := front(t, h)
	if code, body := get(t, fe.Client(), fe.URL); code != 200 || body != "ok" {
		t.Fatalf("got %d %q; want the only (ejected) upstream tried: 200 ok", code, body)
	}
}

// TestFailOpenPicksTheEarliestReturn: when every upstream of a route is ejected, the one
// whose ejection ends first is tried, whatever the round-robin position.
func TestFailOpenPicksTheEarliestReturn(t *testing.T) {
	m := newManager(t, Options{EjectBackoff: time.Minute})
	late, soon := newBackend(t, named("late")), newBackend(t, named("soon"))
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{late.URL, soon.URL}})
	now := time.Now()
	h.targets[0].up.ejectedUntil.Store(now.Add(2 * time.Minute).UnixNano())
	h.targets[1].up.ejectedUntil.Store(now.Add(time.Minute).UnixNano())
	fe := front(t, h)
	for i := range 4 {
		if code, body := get(t, fe.Client(), fe.URL); code != 200 || body != "soon" {
			t.Fatalf("request %d: got %d %q; want the upstream back soonest: 200 soon", i, code, body)
		}
	}
}

// resetServer accepts connections, reads the request head and closes without answering:
// a failure after the request was sent.
func resetServer(t *testing.T) (*url.URL, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			buf := make([]byte, 4096)
			c.SetReadDeadline(time.Now().Add(time.Second))
			c.Read(buf)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return &url.URL{Scheme: "http", Host: l.Addr().String()}, &n
}

func TestRetrySafety(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		body      string
		reset     bool // the first upstream closes after reading the request; else refuses dials
		wantCode  int
		wantFirst int64 // requests the first upstream received
	}{
		{"GET after reset is retried", "GET", "", true, 200, 1},
		{"POST after reset is not retried", "POST", "x=1", true, 502, 1},
		{"PUT with body after reset is not retried", "PUT", "x=1", true, 502, 1},
		{"POST after refused dial is retried", "POST", "x=1", false, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var first *url.URL
			var got *atomic.Int64
			if tt.reset {
				first, got = resetServer(t)
			} else {
				first, got = deadURL(t), new(atomic.Int64)
			}
			ok := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				io.WriteString(w, r.Method+" "+string(b))
			})
			m := newManager(t, Options{})
			h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{first, ok.URL}, Retries: 1})
			h.rr.Store(^uint64(0)) // next pick starts at index 0: the failing upstream
			fe := front(t, h)
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(tt.method, fe.URL, body)
			res, err := fe.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantCode {
				t.Fatalf("status %d (%q); want %d", res.StatusCode, b, tt.wantCode)
			}
			if tt.wantCode == 200 && string(b) != tt.method+" "+tt.body {
				t.Errorf("upstream got %q; want %q", b, tt.method+" "+tt.body)
			}
			if got.Load() != tt.wantFirst {
				t.Errorf("first upstream got %d connections; want %d", got.Load(), tt.wantFirst)
			}
		})
	}
}

func TestResponseTimeoutIs504AndNotEjected(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	other := newBackend(t, named("other"))
	m := newManager(t, Options{})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{slow.URL, other.URL}, Retries: 1, Timeouts: site.Timeouts{Response: 100 * time.Millisecond}})
	h.rr.Store(^uint64(0))
	fe := front(t, h)
	code, body := get(t, fe.Client(), fe.URL)
	if code != 504 || body != "504 Gateway Timeout\n" {
		t.Fatalf("got %d %q; want 504", code, body)
	}
	if other.hits.Load() != 0 {
		t.Errorf("timed-out request was retried on another upstream")
	}
	if ok, _ := h.targets[0].up.available(new(int64)); !ok {
		t.Errorf("slow upstream ejected; want it kept")
	}
}

func TestUpstream5xxPassesThroughWithoutEjecting(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App", "1")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "app says bad gateway")
	})
	m := newManager(t, Options{})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL}, Retries: 1})
	fe := front(t, h)
	code, body := get(t, fe.Client(), fe.URL)
	if code != 502 || body != "app says bad gateway" {
		t.Fatalf("got %d %q; want the upstream's own 502 body", code, body)
	}
	if b.hits.Load() != 1 {
		t.Errorf("upstream hit %d times; want 1 (no retry on a response)", b.hits.Load())
	}
	if h.targets[0].up.fails.Load() != 0 {
		t.Errorf("an answering upstream was counted as failed")
	}
}
