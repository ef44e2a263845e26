package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

// TestReverseProxyBuiltOnDemand: a handler serves direct GETs without a ReverseProxy, builds
// one for the first request that needs it (a POST with a body) and keeps it, and both kinds
// of request reach the upstream whole.
func TestReverseProxyBuiltOnDemand(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", r.Method, body)
	})
	h := mustHandler(t, newManager(t, Options{}), site.Route{Path: "/", Upstreams: []*url.URL{b.URL}})
	if h.rp.Load() != nil {
		t.Fatal("a new handler has a ReverseProxy already")
	}
	s := front(t, h)
	if code, body := get(t, s.Client(), s.URL+"/x"); code != 200 || body != "GET " {
		t.Fatalf("GET: %d %q", code, body)
	}
	if h.rp.Load() != nil {
		t.Fatal("a direct GET built a ReverseProxy")
	}
	for i := range 2 {
		res, err := s.Client().Post(s.URL+"/x", "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || string(body) != "POST hello" {
			t.Fatalf("POST %d: %d %q %v", i, res.StatusCode, body, err)
		}
		rp := h.rp.Load()
		if rp == nil {
			t.Fatalf("POST %d went through no ReverseProxy", i)
		}
		if rp.ErrorLog == nil || rp.Rewrite == nil || rp.Transport == nil {
			t.Fatalf("POST %d: the ReverseProxy is not set up: %+v", i, rp)
		}
		if i == 1 && rp != h.reverseProxy() {
			t.Fatal("the ReverseProxy was built again")
		}
	}
}

// BenchmarkNewHandlers10k builds the handlers of 10,000 new routes on a fresh Manager and
// reports the live heap they hold per route (what a 10,000-site start keeps).
func BenchmarkNewHandlers10k(b *testing.B) {
	routes := make([]site.Route, 10000)
	for i := range routes {
		routes[i] = site.Route{Path: "/", Upstreams: []*url.URL{{Scheme: "http", Host: "127.0.0.1:3000"}}}
	}
	var ms runtime.MemStats
	var per float64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		m := quietManager(b)
		b.StartTimer()
		keep := make([]*Handler, len(routes))
		for i := range routes {
			h, err := m.Handler(fmt.Sprintf("site%05d /", i), &routes[i])
			if err != nil {
				b.Fatal(err)
			}
			keep[i] = h
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		per = float64(ms.HeapAlloc-before) / float64(len(routes))
		runtime.KeepAlive(keep)
		runtime.KeepAlive(m)
		m.Close()
		b.StartTimer()
	}
	b.ReportMetric(per, "B-live/route")
}
