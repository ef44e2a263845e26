package passthrough

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// BenchmarkOpen is Pool.Open of a passthrough connection: connect and write the first
// bytes (a ClientHello's size), then close; by a literal address (openFast on Linux) and
// by a host name (net.Dialer, then a write). The listener's side (accept, close) is in
// the figures.
func BenchmarkOpen(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	first := make([]byte, 1800)
	for _, addr := range []string{"127.0.0.1:" + port, "localhost:" + port} {
		b.Run(addr[:len(addr)-len(port)-1], func(b *testing.B) {
			p, err := NewPool("s", site.Passthrough{Upstreams: []string{addr}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for range b.N {
				c, u, err := p.Open(context.Background(), first, time.Minute, nil)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
				u.Done()
			}
		})
	}
}
