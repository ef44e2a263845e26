package edge

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
)

// proxyEchoServer is an upstream that reads a PROXY v2 header, sends the client address
// it announced on announced, then echoes.
func proxyEchoServer(t *testing.T, announced chan<- string) string {
	return edgetest.TCPServer(t, func(c net.Conn) {
		defer c.Close()
		src, err := readProxyV2(c)
		if err != nil {
			t.Errorf("upstream: %v", err)
			return
		}
		announced <- src
		io.Copy(c, c)
	})
}

// earlyServe runs earlyListener over a readyListener (the ClientHello is always there at
// accept) in one goroutine, as the HTTPS listener's accept loop does; the connections it
// returns (not routed early) are sent on the channel.
func earlyServe(t *testing.T, srv *Server) (string, <-chan net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	el := earlyListener{readyListener{ln}, srv}
	returned := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := el.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			returned <- c
		}
	}()
	return ln.Addr().String(), returned
}

// ptSend dials addr, sends hello and reads it back (the upstream echoes), within 10 s.
func ptSend(t *testing.T, addr string, hello []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(hello))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, hello) {
		t.Fatalf("echo of the ClientHello: %v", err)
	}
	c.SetDeadline(time.Time{})
	return c
}

// A connection routed at accept whose upstream (loopback) accepts at once is opened and
// handed to its event loop by the accept goroutine, no worker: its PROXY v2 header
// announces the client, the drain's table and the open gauge count it while it is open,
// and neither once it is closed.
func TestPassthroughEarlyInline(t *testing.T) {
	announced := make(chan string, 1)
	up := proxyEchoServer(t, announced)
	srv := startServer(t, Options{})
	publish(t, srv, 1, ptSite("pt", site.Passthrough{Upstreams: []string{up}, ProxyProtocol: true}, "pt.test"))
	addr, _ := earlyServe(t, srv)
	c := ptSend(t, addr, recordClientHello(t, "pt.test"))
	if src := <-announced; src != c.LocalAddr().String() {
		t.Errorf("PROXY header announced %s; want %s", src, c.LocalAddr())
	}
	if in, h := srv.ptEarly.inline.Load(), srv.ptEarly.handed.Load(); in != 1 || h != 0 {
		t.Fatalf("opened inline %d, handed to a worker %d; want 1, 0", in, h)
	}
	if n := srv.passthroughs.open(); n != 1 {
		t.Errorf("%d connections in the drain's table; want 1", n)
	}
	if v := metricValue(t, srv, metricPTOpen, map[string]string{"site": "pt"}); v != 1 {
		t.Errorf("%s = %v; want 1", metricPTOpen, v)
	}
	c.Close()
	waitFor(t, "the connection gone from the drain's table and the gauge", func() bool {
		return srv.passthroughs.open() == 0 && metricValue(t, srv, metricPTOpen, map[string]string{"site": "pt"}) == 0
	})
}

// A first upstream whose connect stays in progress (full accept queue) does not hold up
// the accept goroutine: while that connection waits in a worker (its connect timeout,
// 3 s), a second passthrough connection is served and a connection for a terminated site
// is returned by Accept, before any dial failure is counted; then the first fails over
// to the good upstream, with its PROXY header, and the failure is counted once.
func TestPassthroughEarlyPendingDoesNotStall(t *testing.T) {
	announced := make(chan string, 2)
	good := proxyEchoServer(t, announced)
	srv := startServer(t, Options{})
	ups := []string{edgetest.StuckListener(t), good}
	publish(t, srv, 1, ptSite("pt", site.Passthrough{Upstreams: ups, ProxyProtocol: true, ConnectTimeout: 3 * time.Second}, "pt.test"),
		testSite(t, "web", "web.test"))
	addr, returned := earlyServe(t, srv)
	hello := recordClientHello(t, "pt.test")
	firstDone := make(chan net.Conn, 1)
	go func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Error(err)
			close(firstDone)
			return
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(hello)
		got := make([]byte, len(hello))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, hello) {
			t.Errorf("first connection's echo: %v", err)
		}
		firstDone <- c
	}()
	waitFor(t, "the first connection handed to a worker", func() bool { return srv.ptEarly.handed.Load() == 1 })

	second := ptSend(t, addr, hello)
	if src := <-announced; src != second.LocalAddr().String() {
		t.Errorf("second: PROXY header announced %s; want %s", src, second.LocalAddr())
	}
	web, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	web.Write(recordClientHello(t, "web.test"))
	select {
	case c := <-returned:
		if _, ok := c.(*helloConn); !ok {
			t.Errorf("Accept returned %T", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the terminated site's connection not returned by Accept after 10 s")
	}
	if n := metricValue(t, srv, metricPTDialErrors, map[string]string{"site": "pt"}); n != 0 {
		t.Fatalf("%v dial errors before the second connections were served; want 0: they waited for the first", n)
	}

	first := <-firstDone
	if first == nil {
		t.FailNow()
	}
	defer first.Close()
	if src := <-announced; src != first.LocalAddr().String() {
		t.Errorf("first: PROXY header announced %s; want %s", src, first.LocalAddr())
	}
	if n := metricValue(t, srv, metricPTDialErrors, map[string]string{"site": "pt"}); n != 1 {
		t.Errorf("%v dial errors; want 1 (the stuck upstream)", n)
	}
	if in, h := srv.ptEarly.inline.Load(), srv.ptEarly.handed.Load(); in != 1 || h != 1 {
		t.Errorf("opened inline %d, handed to a worker %d; want 1, 1", in, h)
	}
}
