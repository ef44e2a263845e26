package edge

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
)

// rawEcho is an upstream echoing raw bytes (no TLS).
func rawEcho(t *testing.T) string {
	return edgetest.TCPServer(t, func(c net.Conn) { io.Copy(c, c) })
}

// earlyCounts is a snapshot of Server.ptEarly.
type earlyCounts struct{ looped, queued, inline, handed int64 }

func countsOf(s *Server) earlyCounts {
	return earlyCounts{s.ptEarly.looped.Load(), s.ptEarly.queued.Load(), s.ptEarly.inline.Load(), s.ptEarly.handed.Load()}
}

func (c earlyCounts) sub(o earlyCounts) earlyCounts {
	return earlyCounts{c.looped - o.looped, c.queued - o.queued, c.inline - o.inline, c.handed - o.handed}
}

// armLoop passes one connection through to the raw echo site raw.test: the first
// connection after passthrough sites appear is the accept goroutine's (it was waiting on
// the listener); once it is routed the accept goroutine arms the event loop, so the
// next connections are the loop's. It returns the counts once that connection is gone.
func armLoop(t *testing.T, srv *Server) earlyCounts {
	t.Helper()
	ptSend(t, srv.Addr().String(), recordClientHello(t, "raw.test")).Close()
	waitFor(t, "the first connection gone", func() bool {
		return srv.passthroughs.open() == 0 && metricValue(t, srv, metricConnections, map[string]string{"listener": "https"}) == 0
	})
	return countsOf(srv)
}

// Through the server's own listener, with passthrough sites, the event loop accepts: a
// real TLS app (the client sees its certificate, the app the PROXY header) and a raw echo
// upstream are served, both accepted, routed and opened on the loop (none queued for
// Accept, none handed to a worker), counted in metrics.
func TestLoopAcceptPassthrough(t *testing.T) {
	app := startTLSApp(t, "app", true, "pt.test")
	srv := startServer(t, Options{})
	publish(t, srv, 1, ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}, ProxyProtocol: true}, "pt.test"),
		ptSite("raw", site.Passthrough{Upstreams: []string{rawEcho(t)}}, "raw.test"))
	before := armLoop(t, srv)

	c, err := ptDial(t, srv.Addr(), "pt.test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.ConnectionState().PeerCertificates[0].Raw; !bytes.Equal(got, app.cert.Certificate[0]) {
		t.Error("the client did not get the app's certificate")
	}
	if got, err := echo(c, bufio.NewReader(c), "loop"); err != nil || got != "app loop" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	if got := app.announced(); len(got) != 1 || got[0] != c.LocalAddr().String() {
		t.Errorf("PROXY headers announced %v; want [%s]", got, c.LocalAddr())
	}
	r := ptSend(t, srv.Addr().String(), recordClientHello(t, "raw.test"))
	if got, err := echo(r, bufio.NewReader(r), "raw"); err != nil || got != "raw" {
		t.Fatalf("raw echo = %q, %v", got, err)
	}
	if d := countsOf(srv).sub(before); d != (earlyCounts{looped: 2, inline: 2}) {
		t.Errorf("counts %+v; want 2 accepted by the loop and opened there, none queued or handed", d)
	}
	if n := metricValue(t, srv, metricPTConns, map[string]string{"site": "raw"}); n != 2 {
		t.Errorf("raw connections_total = %v; want 2", n)
	}
	if n := metricValue(t, srv, metricConnections, map[string]string{"listener": "https"}); n != 2 {
		t.Errorf("open https connections = %v; want 2", n)
	}
	c.Close()
	r.Close()
	waitFor(t, "the connections' slots freed", func() bool {
		return metricValue(t, srv, metricConnections, map[string]string{"listener": "https"}) == 0 && srv.passthroughs.open() == 0
	})
}

// With loop accepting on, a terminated site on the same port is served by the HTTP stack
// (its connection queued by the loop for Accept, with the bytes read replayed), a
// ClientHello split in many segments and one for an unknown name take the slow path, an
// oversized one is refused and one never finished times out.
func TestLoopAcceptSlowPath(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test")
	srv := startServer(t, Options{Limits: Limits{ReadHeaderTimeout: time.Second}})
	publish(t, srv, 1, testSite(t, "web", "web.test"),
		ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}}, "pt.test"),
		ptSite("raw", site.Passthrough{Upstreams: []string{rawEcho(t)}}, "raw.test"))
	before := armLoop(t, srv)

	status, _, resp := get(t, httpClient(t, srv.Addr(), true), "https://web.test/")
	if status != http.StatusBadGateway || leafOf(*resp.TLS).DNSNames[0] != "web.test" {
		t.Errorf("web.test: status %d, certificate %v; want 502 (dead upstream) with the edge's", status, leafOf(*resp.TLS).DNSNames)
	}
	raw, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	split := tlsClient(t, slowConn{raw}, clientTLS(t, "pt.test"))
	if got, err := echo(split, bufio.NewReader(split), "split"); err != nil || got != "app split" {
		t.Fatalf("split ClientHello: echo = %q, %v", got, err)
	}
	if c, err := ptDial(t, srv.Addr(), "unknown.test"); err == nil {
		c.Close()
		t.Error("unknown.test: handshake succeeded")
	}
	big, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	big.Write(bigClientHello("pt.test", 20000))
	expectClosed(t, big)
	never, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer never.Close()
	never.Write(bigClientHello("pt.test", 100)[:40])
	expectClosed(t, never)

	d := countsOf(srv).sub(before)
	if d.looped != 5 || d.queued != 5 || d.inline != 0 {
		t.Errorf("counts %+v; want 5 accepted by the loop, 5 queued for Accept, none opened there", d)
	}
	if n := metricValue(t, srv, metricPTRefused, map[string]string{"reason": ptRefusedTooLarge}); n != 1 {
		t.Errorf("refused clienthello_too_large = %v; want 1", n)
	}
	if n := metricValue(t, srv, metricHandshakeErrors, map[string]string{"reason": "timeout"}); n != 1 {
		t.Errorf("handshake timeouts = %v; want 1", n)
	}
	if n := metricValue(t, srv, metricPTConns, map[string]string{"site": "pt"}); n != 1 {
		t.Errorf("pt connections_total = %v; want 1 (the split one)", n)
	}
}

// A swap that removes every passthrough site: the open loop-accepted connection goes on,
// a new one for the removed name is refused, the listener is the accept goroutine's
// again (the loop accepts no more); a swap that adds a site back has the loop accept
// again, and the new site is served.
func TestLoopAcceptSwap(t *testing.T) {
	echoAddr := rawEcho(t)
	srv := startServer(t, Options{})
	publish(t, srv, 1, testSite(t, "web", "web.test"), ptSite("raw", site.Passthrough{Upstreams: []string{echoAddr}}, "raw.test"))
	before := armLoop(t, srv)
	open := ptSend(t, srv.Addr().String(), recordClientHello(t, "raw.test"))
	br := bufio.NewReader(open)
	if d := countsOf(srv).sub(before); d.looped != 1 {
		t.Fatalf("counts %+v; want the connection accepted by the loop", d)
	}

	publish(t, srv, 2, testSite(t, "web", "web.test"))
	for i := range 2 { // the loop, still armed, gives the listener back at the first
		if c, err := ptDial(t, srv.Addr(), "raw.test"); err == nil {
			c.Close()
			t.Fatalf("connection %d to the removed site: handshake succeeded", i)
		}
	}
	if got, err := echo(open, br, "still"); err != nil || got != "still" {
		t.Fatalf("open connection after the swap: %q, %v", got, err)
	}
	looped := srv.ptEarly.looped.Load()
	if c, err := ptDial(t, srv.Addr(), "web.test"); err != nil {
		t.Fatalf("web.test after the swap: %v", err)
	} else {
		c.Close()
	}
	if n := srv.ptEarly.looped.Load(); n != looped {
		t.Errorf("the loop accepted %d connections without passthrough sites", n-looped)
	}

	publish(t, srv, 3, testSite(t, "web", "web.test"), ptSite("new", site.Passthrough{Upstreams: []string{echoAddr}}, "new.test"))
	ptSend(t, srv.Addr().String(), recordClientHello(t, "new.test")).Close() // the accept goroutine's
	before = countsOf(srv)
	c := ptSend(t, srv.Addr().String(), recordClientHello(t, "new.test"))
	c.Close()
	if d := countsOf(srv).sub(before); d != (earlyCounts{looped: 1, inline: 1}) {
		t.Errorf("counts %+v after the site was added; want 1 accepted and opened by the loop", d)
	}
}

// MaxConns holds with the loop accepting: with the one slot taken by an open passthrough
// connection, the next connection is not served; once the first closes, it is.
func TestLoopAcceptConnLimit(t *testing.T) {
	srv := startServer(t, Options{Limits: Limits{MaxConns: 1}})
	publish(t, srv, 1, ptSite("raw", site.Passthrough{Upstreams: []string{rawEcho(t)}}, "raw.test"))
	armLoop(t, srv)
	hello := recordClientHello(t, "raw.test")
	first := ptSend(t, srv.Addr().String(), hello)
	looped := srv.ptEarly.looped.Load()

	second, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.Write(hello)
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := second.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("the connection beyond MaxConns was served (%d bytes, %v)", n, err)
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(hello))
	if _, err := io.ReadFull(second, got); err != nil || !bytes.Equal(got, hello) {
		t.Fatalf("the second connection once the first closed: %v", err)
	}
	// The loop found no slot for it and gave the listener back: the accept goroutine
	// took it, waiting for the slot.
	if n := srv.ptEarly.looped.Load(); n != looped {
		t.Errorf("the loop accepted %d connections beyond the limit", n-looped)
	}
}

// Shutdown (SIGTERM) with a loop-accepted connection open: the connection keeps moving
// bytes during the drain, new connections are refused, and Shutdown returns once it
// closes.
func TestLoopAcceptDrain(t *testing.T) {
	srv := startServer(t, Options{})
	publish(t, srv, 1, ptSite("raw", site.Passthrough{Upstreams: []string{rawEcho(t)}}, "raw.test"))
	before := armLoop(t, srv)
	c := ptSend(t, srv.Addr().String(), recordClientHello(t, "raw.test"))
	br := bufio.NewReader(c)
	if d := countsOf(srv).sub(before); d.looped != 1 {
		t.Fatalf("counts %+v; want the connection accepted by the loop", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	waitFor(t, "the listener closed", func() bool {
		n, err := net.Dial("tcp", srv.Addr().String())
		if err == nil {
			n.Close()
		}
		return err != nil
	})
	if got, err := echo(c, br, "draining"); err != nil || got != "draining" {
		t.Fatalf("echo during the drain = %q, %v", got, err)
	}
	c.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return 10 s after the last connection closed")
	}
}
