package edge

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
)

// BenchmarkPassthroughConn is one passthrough connection from accept to close, the edge's
// own cost per connection (tests/bench/passthrough.sh's raw figure): a real ClientHello
// (Go's) sent to a passthrough site whose upstream is a TCP echo server, read back, closed.
// The allocations counted are the whole process's: the edge's, the client's and the echo
// server's (the last two are a few).
func BenchmarkPassthroughConn(b *testing.B) {
	up := startEchoServer(b)
	srv := startServer(b, Options{})
	publish(b, srv, 1, ptSite("raw", site.Passthrough{Upstreams: []string{up}}, "raw.test"))
	hello := recordClientHello(b, "raw.test")
	addr := srv.Addr().String()
	buf := make([]byte, len(hello))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(hello); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil || !bytes.Equal(buf, hello) {
			b.Fatalf("echo: %v", err)
		}
		c.Close()
	}
}

// startEchoServer serves TCP on loopback, echoing every byte, until the test ends.
func startEchoServer(t testing.TB) string {
	t.Helper()
	return edgetest.TCPServer(t, func(c net.Conn) { io.Copy(c, c) })
}

// recordClientHello returns the first flight of Go's TLS client for sni: one ClientHello
// record.
func recordClientHello(t testing.TB, sni string) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Client(a, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(b, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}
