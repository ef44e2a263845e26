//go:build unix

package edge

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"testing"

	"github.com/edgectl/edge/edge/internal/edgetest"
)

// BenchmarkProxiedGET measures a proxied GET end to end on loopback, over HTTP/3 and over
// HTTP/2 to the same edge and upstream (a small httptest backend): one client connection
// each, about 10 requests in flight. Client, edge and backend share the process, so
// allocs/op and cpu-us/op (the process's user+system CPU time per request, from
// /proc/self/stat: steadier than ns/op on a loaded machine) count all three; only the
// protocol between client and edge differs.
func BenchmarkProxiedGET(b *testing.B) {
	srv := startServer(b, Options{HTTPListen: Off, AdminListen: Off})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer backend.Close()
	st := testSite(b, "bench", "bench.test")
	st.Routes[0].Upstreams = []*url.URL{mustURL(backend.URL)}
	publish(b, srv, 1, st)
	h3, _ := h3Client(b, srv.HTTP3Addr())
	for _, tc := range []struct {
		name string
		c    *http.Client
	}{{"h3", h3}, {"h2", httpClient(b, srv.Addr(), false)}} {
		b.Run(tc.name, func(b *testing.B) {
			get := func() error {
				req, _ := http.NewRequestWithContext(context.Background(), "GET", "https://bench.test/", nil)
				resp, err := tc.c.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != 5 || resp.StatusCode != 200 {
					b.Errorf("GET: %d, %d bytes, %v", resp.StatusCode, n, err)
				}
				return nil
			}
			if err := get(); err != nil {
				b.Fatal(err)
			}
			cpu0 := edgetest.ProcessCPU()
			b.ReportAllocs()
			b.ResetTimer()
			b.SetParallelism(max(1, 10/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((edgetest.ProcessCPU()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
		})
	}
}
