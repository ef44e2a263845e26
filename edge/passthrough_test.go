package edge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/tests/testenv"
)

// A terminated site and passthrough sites (exact and wildcard) on one port: the client of
// a passthrough site sees the app's certificate, the app gets the PROXY header with the
// client's address, and unknown names are still refused.
func TestPassthroughBySNI(t *testing.T) {
	app := startTLSApp(t, "app", true, "pt.test", "x.wild.test")
	srv := startServer(t, Options{})
	publish(t, srv, 1,
		testSite(t, "web", "web.test"),
		ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}, ProxyProtocol: true}, "pt.test", "*.wild.test"))

	for _, name := range []string{"pt.test", "x.wild.test"} {
		c, err := ptDial(t, srv.Addr(), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := c.ConnectionState().PeerCertificates[0].Raw; !bytes.Equal(got, app.cert.Certificate[0]) {
			t.Errorf("%s: the client did not get the app's certificate", name)
		}
		if got, err := echo(c, bufio.NewReader(c), "hello"); err != nil || got != "app hello" {
			t.Errorf("%s: echo = %q, %v", name, got, err)
		}
		if got := app.announced(); len(got) == 0 || got[len(got)-1] != c.LocalAddr().String() {
			t.Errorf("%s: PROXY header announced %v, want %s last", name, got, c.LocalAddr())
		}
		c.Close()
	}
	// The terminated site on the same port gets the edge's certificate.
	c, err := ptDial(t, srv.Addr(), "web.test")
	if err != nil {
		t.Fatal(err)
	}
	if leaf := leafOf(c.ConnectionState()); bytes.Equal(leaf.Raw, app.cert.Certificate[0]) || leaf.DNSNames[0] != "web.test" {
		t.Errorf("web.test served %v", leaf.DNSNames)
	}
	c.Close()
	for _, name := range []string{"unknown.test", "wild.test", "a.b.wild.test"} {
		if c, err := ptDial(t, srv.Addr(), name); err == nil {
			c.Close()
			t.Errorf("%s: handshake succeeded", name)
		}
	}
	if n := metricValue(t, srv, metricPTConns, map[string]string{"site": "pt"}); n != 2 {
		t.Errorf("connections_total = %v, want 2", n)
	}
	if n := metricValue(t, srv, metricPTBytes, map[string]string{"site": "pt", "direction": "to_client"}); n == 0 {
		t.Error("no bytes counted to the client")
	}
	// The aborted handshakes of passed-through connections are not failures.
	if n := metricValue(t, srv, metricHandshakeErrors, map[string]string{"reason": "other"}); n != 0 {
		t.Errorf("handshake errors (other) = %v, want 0", n)
	}
}

// Publish refuses a host both terminated and passed through, and a passthrough default.
func TestPassthroughPublishConflicts(t *testing.T) {
	srv := startServer(t, Options{})
	pt := site.Passthrough{Upstreams: []string{"127.0.0.1:1"}}
	err := srv.Publish(1, "rev", []*Site{testSite(t, "web", "a.test"), ptSite("pt", pt, "a.test")})
	if !errors.Is(err, ErrDuplicateHost) {
		t.Errorf("duplicate host: %v", err)
	}
	def := ptSite("pt", pt, "b.test")
	def.Default = true
	if err := srv.Publish(1, "rev", []*Site{def}); !errors.Is(err, ErrInvalidSite) {
		t.Errorf("passthrough default: %v", err)
	}
	withCert := ptSite("pt", pt, "b.test")
	withCert.Certificates = testSite(t, "x", "b.test").Certificates
	if err := srv.Publish(1, "rev", []*Site{withCert}); !errors.Is(err, ErrInvalidSite) {
		t.Errorf("passthrough with certificate: %v", err)
	}
	if err := srv.Publish(1, "rev", []*Site{ptSite("pt", site.Passthrough{}, "b.test")}); !errors.Is(err, ErrInvalidSite) {
		t.Errorf("no upstreams: %v", err)
	}
}

// slowConn writes in small pieces with pauses, so the ClientHello arrives in many TCP
// segments.
type slowConn struct{ net.Conn }

func (c slowConn) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), 37)
		m, err := c.Conn.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
		time.Sleep(2 * time.Millisecond)
	}
	return n, nil
}

// A ClientHello split across many writes is reassembled and passed through whole.
func TestPassthroughSplitClientHello(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test")
	srv := startServer(t, Options{})
	publish(t, srv, 1, ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}}, "pt.test"))
	raw, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := tlsClient(t, slowConn{raw}, clientTLS(t, "pt.test"))
	if got, err := echo(c, bufio.NewReader(c), "split"); err != nil || got != "app split" {
		t.Fatalf("echo = %q, %v", got, err)
	}
}

// An oversized ClientHello for a passthrough site, and one that never finishes, are closed
// and counted.
func TestPassthroughBadClientHellos(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test")
	srv := startServer(t, Options{Limits: Limits{ReadHeaderTimeout: 300 * time.Millisecond}})
	publish(t, srv, 1, ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}}, "pt.test"))

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(bigClientHello("pt.test", 20000))
	expectClosed(t, c)
	if n := metricValue(t, srv, metricPTRefused, map[string]string{"reason": ptRefusedTooLarge}); n != 1 {
		t.Errorf("refused clienthello_too_large = %v, want 1", n)
	}

	slow, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write(bigClientHello("pt.test", 100)[:40]) // never finished
	expectClosed(t, slow)
	if n := metricValue(t, srv, metricHandshakeErrors, map[string]string{"reason": "timeout"}); n != 1 {
		t.Errorf("handshake timeouts = %v, want 1", n)
	}
	if n := metricValue(t, srv, metricPTConns, map[string]string{"site": "pt"}); n != 0 {
		t.Errorf("connections passed through: %v", n)
	}
}

// expectClosed fails unless the server closes c (reads end in EOF or a reset) within a
// generous backstop.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server did not close the connection")
	}
}

// bigClientHello returns TLS records carrying one ClientHello with SNI name and a padding
// extension of pad bytes, split into records of at most 16 KiB.
func bigClientHello(name string, pad int) []byte {
	u16 := func(b []byte, v int) []byte { return append(b, byte(v>>8), byte(v)) }
	sni := u16(nil, len(name)+3) // server_name_list
	sni = append(sni, 0)
	sni = append(u16(sni, len(name)), name...)
	var ext []byte
	ext = append(u16(u16(ext, 0), len(sni)), sni...)
	ext = append(u16(u16(ext, 21), pad), make([]byte, pad)...)
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)                     // session id
	body = append(u16(body, 2), 0x13, 0x01)    // cipher suites
	body = append(body, 1, 0)                  // compression
	body = append(u16(body, len(ext)), ext...) // extensions
	msg := append([]byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	var out []byte
	for len(msg) > 0 {
		k := min(len(msg), 16384)
		out = append(u16(append(out, 22, 3, 1), k), msg[:k]...)
		msg = msg[k:]
	}
	return out
}

// Upstreams that refuse are skipped for the next one; when all refuse the connection is
// closed and counted.
func TestPassthroughUpstreamFailover(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test")
	srv := startServer(t, Options{})
	publish(t, srv, 1,
		ptSite("pt", site.Passthrough{Upstreams: []string{testenv.DeadAddr(t), app.addr}}, "pt.test"),
		ptSite("down", site.Passthrough{Upstreams: []string{testenv.DeadAddr(t), testenv.DeadAddr(t)}}, "down.test"))
	for i := range 4 {
		c, err := ptDial(t, srv.Addr(), "pt.test")
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if got, err := echo(c, bufio.NewReader(c), "x"); err != nil || got != "app x" {
			t.Fatalf("connection %d: %q, %v", i, got, err)
		}
		c.Close()
	}
	if n := metricValue(t, srv, metricPTDialErrors, map[string]string{"site": "pt"}); n < 1 {
		t.Errorf("dial errors = %v, want at least 1", n)
	}
	if c, err := ptDial(t, srv.Addr(), "down.test"); err == nil {
		c.Close()
		t.Fatal("handshake through dead upstreams succeeded")
	}
	waitFor(t, "no_upstream counted", func() bool {
		return metricValue(t, srv, metricPTRefused, map[string]string{"reason": ptRefusedNoUpstream}) == 1
	})
}

// A passthrough site removed by a swap takes no new connection; an open one goes on.
func TestPassthroughRemovedSite(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test")
	srv := startServer(t, Options{})
	publish(t, srv, 1, testSite(t, "web", "web.test"),
		ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}, HealthCheck: &site.HealthCheck{Interval: 50 * time.Millisecond}}, "pt.test"))
	old, err := ptDial(t, srv.Addr(), "pt.test")
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	br := bufio.NewReader(old)
	pool := srv.Current().byName["pt"].pool
	if !pool.Checking() {
		t.Fatal("the health checks of the published site do not run")
	}
	publish(t, srv, 2, testSite(t, "web", "web.test"))
	if pool.Checking() {
		t.Error("the health checks of the removed site still run")
	}
	if c, err := ptDial(t, srv.Addr(), "pt.test"); err == nil {
		c.Close()
		t.Fatal("new connection to a removed passthrough site")
	}
	if got, err := echo(old, br, "still"); err != nil || got != "app still" {
		t.Fatalf("open connection after the swap: %q, %v", got, err)
	}
}

// Many passthrough connections stream while snapshots are swapped: none breaks.
func TestPassthroughSwapUnderLoad(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test")
	srv := startServer(t, Options{})
	sites := func() []*Site {
		return []*Site{testSite(t, "web", "web.test"), ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}}, "pt.test")}
	}
	publish(t, srv, 1, sites()...)
	const conns, rounds = 16, 40
	errs := make(chan error, conns)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range conns {
		go func() {
			errs <- func() error {
				c, err := ptDial(t, srv.Addr(), "pt.test")
				if err != nil {
					return err
				}
				defer c.Close()
				br := bufio.NewReader(c)
				for r := range rounds {
					want := fmt.Sprintf("app %d-%d", i, r)
					if got, err := echo(c, br, want[4:]); err != nil || got != want {
						return fmt.Errorf("round %d: %q, %v", r, got, err)
					}
				}
				return nil
			}()
		}()
	}
	published := make(chan struct{})
	go func() {
		defer close(published)
		for gen := uint64(2); ctx.Err() == nil; gen++ {
			if err := srv.Publish(gen, "rev", sites()); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for range conns {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	cancel()
	<-published // no Publish after the test (the server shut down by its cleanup)
	if g := srv.Current().Generation(); g < 3 {
		t.Errorf("only %d swaps happened", g-1)
	}
}

// Shutdown gives open passthrough connections the drain timeout, then closes them; idle
// connections are closed after the site's idle timeout.
func TestPassthroughDrainAndIdle(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test", "idle.test")
	srv := startServer(t, Options{})
	publish(t, srv, 1,
		ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}}, "pt.test"),
		ptSite("idle", site.Passthrough{Upstreams: []string{app.addr}, IdleTimeout: 100 * time.Millisecond}, "idle.test"))
	// The idle connection sends its ClientHello and nothing more: a whole handshake could
	// itself outlast the 100 ms idle timeout on a loaded machine.
	idle, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := idle.Write(recordClientHello(t, "idle.test")); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, idle)

	c, err := ptDial(t, srv.Addr(), "pt.test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = srv.Shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "passthrough connections still open") {
		t.Errorf("Shutdown = %v", err)
	}
	expectClosed(t, c)
}

// RouteHealth lists a passthrough site with its upstreams: the one open connection counted
// on the live one, the dead one marked down by the health checks.
func TestPassthroughRouteHealth(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test")
	dead := testenv.DeadAddr(t)
	srv := startServer(t, Options{})
	publish(t, srv, 1, testSite(t, "web", "web.test"), ptSite("pt", site.Passthrough{Upstreams: []string{app.addr, dead},
		HealthCheck: &site.HealthCheck{Interval: 20 * time.Millisecond, Timeout: time.Second}}, "pt.test"))
	c, err := ptDial(t, srv.Addr(), "pt.test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := echo(c, bufio.NewReader(c), "hi"); err != nil || got != "app hi" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	var pt RouteHealth
	waitFor(t, "the dead upstream down", func() bool {
		for _, r := range srv.RouteHealth() {
			if r.Site == "pt" {
				pt = r
			}
		}
		return len(pt.Upstreams) == 2 && pt.Upstreams[1].Down
	})
	live, down := pt.Upstreams[0], pt.Upstreams[1]
	if !pt.Passthrough || pt.Path != "" || live.URL != "tcp://"+app.addr || down.URL != "tcp://"+dead {
		t.Errorf("route %+v; want passthrough, no path, tcp:// upstreams in order", pt)
	}
	if live.Down || live.InFlight != 1 || !live.HealthChecked || !down.HealthChecked {
		t.Errorf("upstreams %+v; want the live one up with 1 connection, both health-checked", pt.Upstreams)
	}
}

// A passthrough site's series are looked up once per site entry (siteSeries): they count
// every connection, are deleted with the site, and a site passed through again counts
// in fresh series, not in the removed entry's deleted ones.
func TestPassthroughSeriesCached(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test")
	srv := startServer(t, Options{})
	pt := func() *Site { return ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}}, "pt.test") }
	connect := func(n int) {
		t.Helper()
		for range n {
			c, err := ptDial(t, srv.Addr(), "pt.test")
			if err != nil {
				t.Fatal(err)
			}
			if got, err := echo(c, bufio.NewReader(c), "x"); err != nil || got != "app x" {
				t.Fatalf("echo %q, %v", got, err)
			}
			c.Close()
		}
	}
	labels := map[string]string{"site": "pt"}
	publish(t, srv, 1, testSite(t, "web", "web.test"), pt())
	connect(3)
	if n := metricValue(t, srv, metricPTConns, labels); n != 3 {
		t.Errorf("%v connections counted, want 3", n)
	}
	publish(t, srv, 2, testSite(t, "web", "web.test"))
	if seriesExported(t, srv, metricPTConns, labels) {
		t.Error("the removed site's series is still exported")
	}
	publish(t, srv, 3, testSite(t, "web", "web.test"), pt())
	connect(1)
	if n := metricValue(t, srv, metricPTConns, labels); n != 1 {
		t.Errorf("site passed through again: %v connections counted, want 1", n)
	}
	waitFor(t, "bytes counted to the client", func() bool {
		return metricValue(t, srv, metricPTBytes, map[string]string{"site": "pt", "direction": "to_client"}) > 0
	})
}

// seriesExported reports whether the metric name has a series with labels.
func seriesExported(t *testing.T, srv *Server, name string, labels map[string]string) bool {
	t.Helper()
	return findSeries(t, srv, name, labels) != nil
}
