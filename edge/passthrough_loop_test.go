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
// byte counters add up, and no connection stays open.
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
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", srv.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.Write(append(bytes.Clone(hello), "payload"...))
			c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			size := len(hello) + len("payload")
			if want := append([]byte("len "), byte(size>>8), byte(size)); err != nil || !bytes.Equal(got, want) {
				t.Errorf("answer %q, %v", got, err)
			}
		}()
	}
	wg.Wait()
	size := float64(len(hello) + len("payload"))
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
