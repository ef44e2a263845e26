package edge

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"

	"github.com/edgectl/edge/edge/site"
)

// benchSites returns n sites siteNNNNN.bench.test sharing one wildcard certificate, each
// with routes "/", "/api" and "/static/" to one upstream per site.
func benchSites(b testing.TB, n int) []*Site {
	c := ca(b).Issue(b, edgetest.ECDSA, time.Time{}, "*.bench.test")
	sites := make([]*Site, n)
	for i := range sites {
		up := mustURL(fmt.Sprintf("http://10.%d.%d.%d:3000", i>>16&255, i>>8&255, i&255))
		sites[i] = &Site{
			Site: site.Site{
				Name:  fmt.Sprintf("site%05d", i),
				Hosts: []string{fmt.Sprintf("site%05d.bench.test", i)},
				Routes: []site.Route{
					{Path: "/", Upstreams: []*url.URL{up}},
					{Path: "/api", Upstreams: []*url.URL{up}, StripPrefix: true},
					{Path: "/static/", Upstreams: []*url.URL{up}},
				},
				Headers: site.Headers{HSTS: &site.HSTS{MaxAge: time.Hour}},
			},
			Certificates: []tls.Certificate{c},
		}
	}
	return sites
}

var benchSizes = []int{1, 10000}

// BenchmarkSNI measures choosing the configuration and certificate of a handshake: what
// GetConfigForClient and GetCertificate do per ClientHello.
func BenchmarkSNI(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("sites=%d", n), func(b *testing.B) {
			srv := NewServer(Options{Logger: quietLogger})
			defer srv.proxy.Close()
			if err := srv.Publish(1, "", benchSites(b, n)); err != nil {
				b.Fatal(err)
			}
			hello := &tls.ClientHelloInfo{ServerName: fmt.Sprintf("site%05d.bench.test", n/2)}
			b.ReportAllocs()
			for b.Loop() {
				cfg, _ := srv.getConfigForClient(hello)
				if c, err := cfg.GetCertificate(hello); c == nil || err != nil {
					b.Fatal("no certificate")
				}
			}
		})
	}
}

// BenchmarkRoute measures finding the site and route of a request (Host/SNI check and
// longest prefix).
func BenchmarkRoute(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("sites=%d", n), func(b *testing.B) {
			snap, err := newSnapshot(1, "", benchSites(b, n), nil)
			if err != nil {
				b.Fatal(err)
			}
			host := fmt.Sprintf("site%05d.bench.test", n/2)
			r := httptest.NewRequest("GET", "https://"+host+"/api/v1/users", nil)
			r.TLS = &tls.ConnectionState{ServerName: host}
			b.ReportAllocs()
			for b.Loop() {
				site := snap.siteForRequest(r, hostOnly(r.Host))
				if site == nil || matchRoute(site.routes, cleanPath(r.URL.Path)) == nil {
					b.Fatal("no route")
				}
			}
		})
	}
}

// BenchmarkHandler measures the whole HTTPS handler around a no-op route handler:
// snapshot load, Host/SNI check, routing, header changes, metrics.
func BenchmarkHandler(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("sites=%d", n), func(b *testing.B) {
			srv := NewServer(Options{Logger: quietLogger})
			defer srv.proxy.Close()
			ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
			snap, err := newSnapshot(1, "", benchSites(b, n), func(*Site, *site.Route) (http.Handler, error) { return ok, nil })
			if err != nil {
				b.Fatal(err)
			}
			srv.swap(snap)
			host := fmt.Sprintf("site%05d.bench.test", n/2)
			r := httptest.NewRequest("GET", "https://"+host+"/api/v1/users", nil)
			r.TLS = &tls.ConnectionState{ServerName: host}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				srv.serveTLS(w, r)
			}
			if w.code != 204 {
				b.Fatalf("status %d", w.code)
			}
		})
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkBuild measures building a snapshot of 10,000 sites (30,000 routes): alone
// (no proxy), through the server the first time (every route asks the proxy manager for
// a handler), and again with the same sites (handlers reused from the current snapshot,
// as when the agent changes a few sites).
func BenchmarkBuild(b *testing.B) {
	sites := benchSites(b, 10000)
	b.Run("sites=10000/no-proxy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := newSnapshot(1, "", sites, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sites=10000/proxy-first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			srv := NewServer(Options{Logger: quietLogger})
			if _, err := srv.build(1, "", sites); err != nil {
				b.Fatal(err)
			}
			srv.proxy.Close()
		}
	})
	b.Run("sites=10000/proxy-rebuild", func(b *testing.B) {
		srv := NewServer(Options{Logger: quietLogger})
		defer srv.proxy.Close()
		if err := srv.Publish(1, "", sites); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			snap, err := srv.build(2, "", sites)
			if err != nil {
				b.Fatal(err)
			}
			srv.swap(snap)
		}
	})
}

// BenchmarkPublishOneSiteChanged10k measures Publish of 10,000 sites of which one changed
// since the snapshot served (a new *Site), alternately: what the agent does for a one-site
// commit.
func BenchmarkPublishOneSiteChanged10k(b *testing.B) {
	sites := benchSites(b, 10000)
	srv := NewServer(Options{Logger: quietLogger})
	defer srv.proxy.Close()
	if err := srv.Publish(1, "", sites); err != nil {
		b.Fatal(err)
	}
	orig := sites[5000]
	changed := *orig
	changed.Routes = append([]site.Route(nil), orig.Routes...)
	changed.Routes[0].StripPrefix = true
	versions := [2]*Site{orig, &changed}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		next := append([]*Site(nil), sites...)
		next[5000] = versions[(i+1)%2]
		if err := srv.Publish(uint64(i+2), "", next); err != nil {
			b.Fatal(err)
		}
	}
}
