package edge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
	"golang.org/x/net/http2"
)

// BenchmarkHTTP2 measures a 1 KiB static file over HTTP/2 end to end on loopback: edge's
// server with its writes as net/http's HTTP/2 server makes them ("plain"), coalesced
// (writecoalescer.go, "coalesced"), and edge's fork of the HTTP/2 server (HTTP2ServerEdge,
// writes coalesced: "fork"), one client connection with 10 streams in flight. The
// client is in the same process, so allocs/op and writes/op (write system calls of the
// process, /proc/self/io syscw) and cpu-us/op (CPU time of the process) count both sides;
// the client's share is the same in each.
func BenchmarkHTTP2(b *testing.B) {
	for _, tc := range []struct {
		name  string
		plain bool
		which HTTP2Server
	}{{"plain", true, HTTP2ServerGo}, {"coalesced", false, HTTP2ServerGo}, {"fork", false, HTTP2ServerEdge}} {
		b.Run(tc.name, func(b *testing.B) {
			plainHTTP2Writes = tc.plain
			defer func() { plainHTTP2Writes = false }()
			benchHTTP2(b, tc.which)
		})
	}
}

func benchHTTP2(b *testing.B, which HTTP2Server) {
	s := startServer(b, Options{HTTPListen: Off, AdminListen: Off, HTTP3: HTTP3Options{Disabled: true}, Limits: Limits{HTTP2Server: which}})
	st := testSite(b, "bench", "bench.test")
	tree := fstest.MapFS{"1k.bin": {Data: bytes.Repeat([]byte("x"), 1024)}}
	st.Routes = []site.Route{{Path: "/", Static: &site.Static{FS: tree}}}
	publish(b, s, 1, st)
	conn, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{RootCAs: ca(b).Pool(), ServerName: "bench.test", NextProtos: []string{"h2"}})
	if err != nil {
		b.Fatal(err)
	}
	cc, err := (&http2.Transport{}).NewClientConn(conn)
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	get := func() error {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", "https://bench.test/1k.bin", nil)
		resp, err := cc.RoundTrip(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != 1024 || resp.StatusCode != 200 {
			b.Errorf("GET: %d, %d bytes, %v", resp.StatusCode, n, err)
		}
		return nil
	}
	if err := get(); err != nil {
		b.Fatal(err)
	}
	w0, cpu0 := processWrites(b), edgetest.ProcessCPU()
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(max(1, 10/runtime.GOMAXPROCS(0))) // about 10 streams in flight
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := get(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(processWrites(b)-w0)/float64(b.N), "writes/op")
	b.ReportMetric(float64((edgetest.ProcessCPU()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
}

// processWrites returns the write system calls of the process so far (/proc/self/io).
func processWrites(b *testing.B) int64 { return processIO(b, "syscw: ") }

// processReads returns the read system calls of the process so far (/proc/self/io).
func processReads(b *testing.B) int64 { return processIO(b, "syscr: ") }

// processIO returns the /proc/self/io counter of the line starting with prefix.
func processIO(b *testing.B, prefix string) int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		b.Skip("no /proc/self/io")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Skip("no " + strings.TrimSuffix(prefix, ": ") + " in /proc/self/io")
	return 0
}
