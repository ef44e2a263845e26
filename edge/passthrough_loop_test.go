package edge

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
)

// Through the whole edge (the early route, then the event loop on Linux, Pipe elsewhere):
// concurrent raw connections each half-close after their ClientHello and a payload, the
// upstream answers after the half-close and closes; every client gets its answer, the
// byte counters add up, and the open gauge, seen at 1 while the first connection is
// held, falls back to 0.
func TestPassthroughHalfCloseConcurrent(t *testing.T) {
	up := edgetest.TCPServer(t, func(c net.Conn) {
		got, err := io.ReadAll(c) // until the client's half-close
		if err != nil {
			return
		}
		c.Write(append([]byte("len "), byte(len(got)>>8), byte(len(got))))
	})
	srv := startServer(t, Options{})
	publish(t, srv, 1, ptSite("hc", site.Passthrough{Upstreams: []string{up}}, "hc.test"))
	hello := recordClientHello(t, "hc.test")
	const n = 32
	sz := len(hello) + len("payload")
	size := float64(sz)
	exchange := func(c net.Conn) {
		defer c.Close()
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		want := append([]byte("len "), byte(sz>>8), byte(sz))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("answer %q, %v", got, err)
		}
	}
	// The first connection is held open until the gauge counts it, so the wait for 0
	// below is known to read the gauge.
	first, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	first.Write(append(bytes.Clone(hello), "payload"...))
	waitFor(t, "the first connection counted open", func() bool {
		return metricValue(t, srv, metricPTOpen, map[string]string{"site": "hc"}) == 1
	})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); exchange(first) }()
	for range n - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", srv.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			c.Write(append(bytes.Clone(hello), "payload"...))
			exchange(c)
		}()
	}
	wg.Wait()
	waitFor(t, "connections closed", func() bool {
		return metricValue(t, srv, metricPTOpen, map[string]string{"site": "hc"}) == 0
	})
	if v := metricValue(t, srv, metricPTBytes, map[string]string{"site": "hc", "direction": "to_upstream"}); v != n*size {
		t.Errorf("to_upstream = %v, want %v", v, n*size)
	}
	if v := metricValue(t, srv, metricPTBytes, map[string]string{"site": "hc", "direction": "to_client"}); v != n*6 {
		t.Errorf("to_client = %v, want %v", v, n*6)
	}
	if v := metricValue(t, srv, metricPTConns, map[string]string{"site": "hc"}); v != n {
		t.Errorf("connections = %v, want %v", v, n)
	}
}
