//go:build linux

package edge

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
)

// BenchmarkH1ProxyBody measures edge's HTTP/1.1 loop proxying keep-alive GETs of 8 KiB
// and 64 KiB bodies, as tests/bench/peers.sh's h1 8k and 64k columns do, from an upstream
// that writes each response at once. Besides allocs/op and cpu-µs/op (edge's plus both
// ends' TLS and loopback system calls) it reports the TLS records a response takes
// (records/op, application-data records counted on the client's side, recordCounter).
func BenchmarkH1ProxyBody(b *testing.B) {
	for _, size := range []int{8 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dk", size>>10), func(b *testing.B) { benchH1ProxyBody(b, size) })
	}
}

func benchH1ProxyBody(b *testing.B, size int) {
	body := strings.Repeat("x", size)
	up := edgetest.CannedUpstream(b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"+
		"Content-Length: "+strconv.Itoa(size)+"\r\n\r\n"+body)
	addr := startH1ProxyOn(b, up, "")
	req := []byte("GET / HTTP/1.1\r\nHost: h1.test\r\n\r\n")
	var records atomic.Int64
	cpu0 := edgetest.ProcessCPU()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		raw, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		rc := &recordCounter{Conn: raw}
		c := tls.Client(rc, &tls.Config{RootCAs: ca(b).Pool(), ServerName: "h1.test", NextProtos: []string{"http/1.1"}})
		defer c.Close()
		if err := c.Handshake(); err != nil {
			b.Error(err)
			return
		}
		buf := make([]byte, size+4096)
		before := rc.records.Load()
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			if err := readSizedResponse(c, buf, size); err != nil {
				b.Error(err)
				return
			}
		}
		records.Add(rc.records.Load() - before)
	})
	b.StopTimer()
	b.ReportMetric(float64(edgetest.ProcessCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(records.Load())/float64(b.N), "records/op")
}

// readSizedResponse reads one response with a body of size bytes from c.
func readSizedResponse(c io.Reader, buf []byte, size int) error {
	n := 0
	for {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			return err
		}
		if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 && n-i-4 >= size {
			if n-i-4 > size {
				return io.ErrUnexpectedEOF // more than one response: the client sends one at a time
			}
			return nil
		}
		if n == len(buf) {
			return io.ErrShortBuffer
		}
	}
}
