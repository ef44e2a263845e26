//go:build linux

package edge

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
)

// BenchmarkHTTP1Serve compares edge's HTTP/1.1 loop ("edge", h1conn.go) with net/http's
// server ("go", Options.HTTP1 = HTTP1Go) on proxied GETs of 15 B and 8 KiB over HTTP/1.1
// keep-alive on loopback (benchHTTP1Proxy: client, edge and upstream in one process, so
// cpu-µs/op and allocs/op count all three; only edge's server side differs).
func BenchmarkHTTP1Serve(b *testing.B) {
	for _, size := range []int{15, 8 << 10} {
		for _, mode := range []string{"go", "edge"} {
			b.Run(strconv.Itoa(size)+"/"+mode, func(b *testing.B) {
				benchHTTP1ProxyOn(b, size, h1Mode(mode))
			})
		}
	}
}

// h1Mode is the Options.HTTP1 of a benchmark's mode name.
func h1Mode(mode string) string {
	if mode == "go" {
		return HTTP1Go
	}
	return ""
}

// BenchmarkH1Loop compares the servers alone: a handler writing 15 bytes, served by
// net/http ("go") and by edge's loop ("edge"; "edge-readrequest": every header read by
// http.ReadRequest, not parseSimpleHead) to clients that send one request at a time on
// keep-alive connections and read the response's known length, allocating nothing, so
// allocs/op and cpu-µs/op are the server's (and crypto/tls's, on both ends).
func BenchmarkH1Loop(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello, world!\n!")
	})
	goAddr, edgeAddr := diffServers(b, h)
	for _, mode := range []struct{ name, addr string }{{"go", goAddr}, {"edge", edgeAddr}, {"edge-readrequest", edgeAddr}} {
		b.Run(mode.name, func(b *testing.B) {
			slowH1Heads.Store(mode.name == "edge-readrequest")
			defer slowH1Heads.Store(false)
			benchRaw(b, mode.addr)
		})
	}
}

// benchRaw sends GET / on keep-alive connections to addr and reads each response whole.
func benchRaw(b *testing.B, addr string) {
	req := []byte(rawReq("GET", "/", false, "User-Agent: bench"))
	size := 0
	cpu0 := edgetest.ProcessCPU()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		n := size
		if n == 0 { // the first response's length: the same for all (Date is fixed-width)
			c.Write(req)
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				b.Error(err)
				return
			}
			head, _ := httputil.DumpResponse(res, true)
			n = len(head)
		}
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadFull(c, buf[:n]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(edgetest.ProcessCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}
