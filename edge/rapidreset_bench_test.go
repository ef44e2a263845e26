package edge

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// BenchmarkRapidResetBlame sends b.N HTTP/2 streams on one connection, each reset by the
// client (RST_STREAM CANCEL) right after its HEADERS, to a site whose upstream answers in
// 1ms, and reports how many the server counted as upstream errors (upstream_errors/op:
// 0 means a client cancelling never counts against an upstream) and how many ended as
// client_closed. Run it with -benchtime=10000x.
func BenchmarkRapidResetBlame(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Millisecond):
		case <-r.Context().Done():
		}
	}))
	b.Cleanup(backend.Close)
	srv := startServer(b, Options{HTTPListen: Off, AdminListen: Off})
	site := testSite(b, "shop", "shop.example.com")
	site.Routes[0].Upstreams = []*url.URL{mustURL(backend.URL)}
	publish(b, srv, 1, site)
	c := newH2Conn(b, srv)
	block := c.headers("/")
	b.ResetTimer()
	for i := range b.N {
		id := uint32(1 + 2*i)
		c.wmu.Lock()
		err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true})
		if err == nil {
			err = c.fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}
		c.wmu.Unlock()
		if err != nil {
			b.Fatalf("stream %d: %v", i, err)
		}
	}
	b.StopTimer()
	// Let the handlers of the reset streams finish: no upstream request in flight and
	// the request count steady (a benchmark, so a settling delay is acceptable here).
	served := func() float64 {
		var n float64
		for _, class := range statusClasses[1:] {
			n += counterValue(b, srv, metricRequests, "shop", class)
		}
		return n
	}
	for prev := -1.0; ; {
		time.Sleep(200 * time.Millisecond)
		busy := false
		for _, u := range srv.proxy.Upstreams() {
			busy = busy || u.InFlight != 0
		}
		if n := served(); !busy && n == prev {
			break
		} else {
			prev = n
		}
	}
	errs := counterValue(b, srv, metricUpstreamErrors, "shop", "")
	b.ReportMetric(errs/float64(b.N), "upstream_errors/op")
	b.ReportMetric(counterValue(b, srv, metricRequests, "shop", "client_closed")/float64(b.N), "client_closed/op")
	b.Logf("%d reset streams: %v observed, %v upstream errors, %v client_closed (GOAWAY %v)", b.N, served(), errs, counterValue(b, srv, metricRequests, "shop", "client_closed"), c.goAway)
}

// counterValue returns the counter name{site, class} (class "" for counters without it).
func counterValue(tb testing.TB, srv *Server, name, site, class string) float64 {
	mfs, err := srv.Registry().Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := true
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "site":
					ok = ok && lp.GetValue() == site
				case "class":
					ok = ok && lp.GetValue() == class
				}
			}
			if ok {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
