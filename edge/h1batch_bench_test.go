//go:build linux

package edge

import (
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
)

// BenchmarkHTTP1Proxy measures proxied GETs of 15 B, 8 KiB and 64 KiB over HTTP/1.1
// keep-alive on loopback, with edge's writes as net/http makes them ("plain") and batched
// (h1batch.go). Client, edge and upstream share the process, so allocs/op, writes/op and
// reads/op (write and read system calls of the process, /proc/self/io syscw and syscr)
// and cpu-µs/op (the process's user and system time) count all three; only edge's writes
// to the client differ.
func BenchmarkHTTP1Proxy(b *testing.B) {
	for _, size := range []int{15, 8 << 10, 64 << 10} {
		for _, tc := range []struct {
			name  string
			plain bool
		}{{"plain", true}, {"batched", false}} {
			b.Run(strconv.Itoa(size)+"/"+tc.name, func(b *testing.B) {
				plainHTTP1Writes.Store(tc.plain)
				defer plainHTTP1Writes.Store(false)
				benchHTTP1Proxy(b, size)
			})
		}
	}
}

func benchHTTP1Proxy(b *testing.B, size int) { benchHTTP1ProxyOn(b, size, "") }

// benchHTTP1ProxyOn is benchHTTP1Proxy with Options.HTTP1 = http1.
func benchHTTP1ProxyOn(b *testing.B, size int, http1 string) {
	up := h1Upstream(b, nil)
	addr := startH1ProxyOn(b, up, http1)
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: ca(b).Pool(), ServerName: "h1.test"},
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 only
		MaxIdleConnsPerHost: 64,
	}
	defer tr.CloseIdleConnections()
	url := "https://" + addr + "/" + strconv.Itoa(size)
	get := func() {
		req, _ := http.NewRequest("GET", url, nil)
		req.Host = "h1.test"
		res, err := tr.RoundTrip(req)
		if err != nil {
			b.Error(err)
			return
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || n != int64(size) || res.StatusCode != 200 {
			b.Errorf("GET: %d, %d bytes, %v", res.StatusCode, n, err)
		}
	}
	get()
	w0, r0, cpu0 := processWrites(b), processReads(b), edgetest.ProcessCPU()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			get()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(processWrites(b)-w0)/float64(b.N), "writes/op")
	b.ReportMetric(float64(processReads(b)-r0)/float64(b.N), "reads/op")
	b.ReportMetric(float64(edgetest.ProcessCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}
