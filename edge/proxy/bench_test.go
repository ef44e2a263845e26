package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
)

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
}

func runGets(b *testing.B, target string) {
	c := benchClient()
	defer c.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := c.Get(target)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}

func tinyBackend(b *testing.B) *backend {
	return newBackend(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello")
	})
}

func quietManager(b *testing.B) *Manager {
	return newManager(b, Options{Logger: slog.New(slog.DiscardHandler)})
}

// BenchmarkDirect is the baseline: client to backend, no proxy.
func BenchmarkDirect(b *testing.B) {
	be := tinyBackend(b)
	runGets(b, be.Server.URL+"/")
}

// BenchmarkProxy: HTTP/1.1 keep-alive client -> proxy -> tiny backend, over loopback.
func BenchmarkProxy(b *testing.B) {
	for _, balance := range []site.Balance{site.RoundRobin, site.LeastConn} {
		b.Run(string(balance), func(b *testing.B) {
			be1, be2 := tinyBackend(b), tinyBackend(b)
			m := quietManager(b)
			h := mustHandler(b, m, site.Route{Path: "/", Upstreams: []*url.URL{be1.URL, be2.URL}, Balance: balance, Retries: 1})
			fe := front(b, h)
			runGets(b, fe.URL+"/")
			b.ReportMetric(float64(be1.conns.Load()+be2.conns.Load()), "upstream-conns")
		})
	}
}

// BenchmarkServeHTTP measures the proxy's own cost per request (in-process recorder as the
// client side, real keep-alive upstream).
func BenchmarkServeHTTP(b *testing.B) {
	be := tinyBackend(b)
	m := quietManager(b)
	h := mustHandler(b, m, site.Route{Path: "/", Upstreams: []*url.URL{be.URL}})
	req := httptest.NewRequest("GET", "http://shop.example.com/", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkHandlerReuse is the cost of Manager.Handler for an unchanged route during a
// snapshot rebuild.
func BenchmarkHandlerReuse(b *testing.B) {
	m := quietManager(b)
	r := &site.Route{Path: "/", Upstreams: []*url.URL{
		{Scheme: "http", Host: "127.0.0.1:3000"}, {Scheme: "http", Host: "127.0.0.1:3001"}}}
	mustNamedHandler(b, m, "shop /", *r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Handler("shop /", r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRebuild10k is one snapshot rebuild of 10,000 unchanged routes: Handler for each
// plus Sweep.
func BenchmarkRebuild10k(b *testing.B) {
	m := quietManager(b)
	routes := make([]site.Route, 10000)
	names := make([]string, len(routes))
	for i := range routes {
		names[i] = fmt.Sprintf("site%d /", i)
		routes[i] = site.Route{Path: "/", Upstreams: []*url.URL{
			{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", 10000+i)}}}
	}
	keep := make([]*Handler, len(routes))
	b.ReportAllocs()
	for b.Loop() {
		for i := range routes {
			h, err := m.Handler(names[i], &routes[i])
			if err != nil {
				b.Fatal(err)
			}
			keep[i] = h
		}
		m.Sweep(keep)
	}
}

// nullWriter is a reused ResponseWriter that keeps nothing.
type nullWriter struct {
	h    http.Header
	code int
}

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) WriteHeader(code int)        { w.code = code }
func (w *nullWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkForward is the proxy's own cost per request: Handler.ServeHTTP of a browser-like
// GET with a request context that ends (as a server's) and an Info (as edge attaches), a
// reused ResponseWriter, and an upstream that allocates nothing. "direct" is the direct
// forward, "reverseproxy" the same request through httputil.ReverseProxy.
func BenchmarkForward(b *testing.B) {
	up := edgetest.CannedUpstream(b, "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"+
		"Cache-Control: no-cache\r\nEtag: \"abc\"\r\nContent-Length: 5\r\n\r\nhello")
	h := mustHandler(b, quietManager(b), site.Route{Path: "/", Upstreams: []*url.URL{up}})
	ref := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		defer h.finish(info, r)
		h.reverseProxy().ServeHTTP(w, r)
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"direct", h}, {"reverseproxy", ref}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "https://shop.example.com/products/42?ref=home", nil)
			for k, v := range map[string]string{"User-Agent": "Mozilla/5.0", "Accept": "text/html",
				"Accept-Encoding": "gzip, br", "Accept-Language": "en", "Cookie": "session=abc"} {
				req.Header.Set(k, v)
			}
			w := &nullWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				ctx, cancel := context.WithCancel(context.Background())
				var info Info
				bc.h.ServeHTTP(w, req.WithContext(WithInfo(ctx, &info)))
				cancel()
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
				clear(w.h)
			}
		})
	}
}
