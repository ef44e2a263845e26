//go:build linux

package edge

import (
	"crypto/tls"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
)

// BenchmarkH1ProxyRaw measures edge's HTTP/1.1 loop proxying GETs to a keep-alive
// upstream, as tests/bench/peers.sh's h1 column does (wrk's request: a request line and a
// Host field; a 29-byte body), with a client and an upstream that allocate nothing once
// running, so allocs/op is edge's own (and cpu-µs/op edge's plus both ends' TLS and
// loopback system calls).
func BenchmarkH1ProxyRaw(b *testing.B) {
	addr := startH1ProxyOn(b, rawUpstream(b), "")
	req := []byte("GET / HTTP/1.1\r\nHost: h1.test\r\n\r\n")
	cpu0 := edgetest.ProcessCPU()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca(b).Pool(), ServerName: "h1.test",
			NextProtos: []string{"http/1.1"}})
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			if err := readRawResponse(c, buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(edgetest.ProcessCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// rawBody is rawUpstream's response body: 29 bytes, as tests/bench/backend's.
const rawBody = "hello from the bench backend\n"

// readRawResponse reads one response of rawUpstream's body from c: a head, then
// len(rawBody) bytes.
func readRawResponse(c io.Reader, buf []byte) error {
	return readSizedResponse(c, buf, len(rawBody))
}

// rawUpstream starts an HTTP/1.1 keep-alive upstream that answers every request head it
// reads (GETs without a body) with a fixed response of rawBody, allocating nothing per
// request.
func rawUpstream(t testing.TB) *url.URL {
	return edgetest.CannedUpstream(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Date: Thu, 03 Dec 2026 12:00:00 GMT\r\nContent-Length: 29\r\n\r\n"+rawBody)
}
