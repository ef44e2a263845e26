package tests

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// The tests of this file drive the agent binary's HTTP/3 listener (QUIC over UDP on the
// --listen address) with quic-go's HTTP/3 client.

// gateBackend answers /slow with "part1", then, once released, "part2"; anything else
// with "hello from <host>".
type gateBackend struct {
	*httptest.Server
	entered chan struct{}
	release chan struct{}
}

func newGateBackend(t *testing.T) *gateBackend {
	g := &gateBackend{entered: make(chan struct{}, 4), release: make(chan struct{})}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			fmt.Fprintf(w, "hello from %s", r.Host)
			return
		}
		io.WriteString(w, "part1")
		w.(http.Flusher).Flush()
		g.entered <- struct{}{}
		<-g.release
		io.WriteString(w, "part2")
	}))
	t.Cleanup(g.Close)
	return g
}

// writeGateSite writes site name (host name.example.test) proxying to g, key in the key dir.
func writeGateSite(t *testing.T, d *dirRepo, g *gateBackend, name string) {
	s := sitegen.Site{Name: name, Hosts: []string{name + ".example.test"}, Upstreams: []string{g.URL},
		Key: schema.KeyRef{Mount: "secret", Path: "edge/" + name, Field: "key"}}
	if _, err := sitegen.WriteSite(d.repo.Dir, s, sitegen.Options{CA: d.ca, KeyDir: d.keyDir}); err != nil {
		t.Fatal(err)
	}
}

// h3Client returns an HTTP/3 client dialing addr (UDP) whatever the URL's host.
func (p *agentProc) h3Client() *http.Client {
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.ca.Pool()},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, p.https, tlsCfg, cfg)
		},
	}
	p.t.Cleanup(func() { tr.Close() })
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// h3Get does an HTTP/3 GET; it returns the response with its body read.
func h3Get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("HTTP/3 GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("HTTP/3 GET %s: body: %v", url, err)
	}
	return resp, string(b)
}

// tcpHeader returns header name of a GET over HTTP/2 (TCP) to host.
func (p *agentProc) tcpHeader(host, name string) string {
	p.t.Helper()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.ca.Pool(), ServerName: host},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", p.https)
		},
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + host + "/")
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get(name)
}

// quicHandshake reports whether a QUIC handshake for name to the agent succeeds.
func (p *agentProc) quicHandshake(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cfg := &tls.Config{RootCAs: p.ca.Pool(), ServerName: name, NextProtos: []string{http3.NextProtoH3}}
	conn, err := quic.DialAddr(ctx, p.https, cfg, nil)
	if err != nil {
		return err
	}
	conn.CloseWithError(0, "")
	return nil
}

// TestAgentHTTP3 runs the agent with HTTP/3 on (the default): each SNI gets its site's
// certificate over QUIC, an unknown one none, TCP responses advertise the UDP port, a
// commit lands during an HTTP/3 stream without breaking it, the access log and metrics
// name the protocol, and SIGTERM lets a request in flight finish.
func TestAgentHTTP3(t *testing.T) {
	d := newDirRepo(t)
	g := newGateBackend(t)
	writeGateSite(t, d, g, "alpha")
	writeGateSite(t, d, g, "beta")
	d.repo.Commit("alpha and beta", nil)
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--interval", "200ms", "--key-dir", d.keyDir, "--access-log", "text")
	p.waitFor("alpha served", 20*time.Second, func() bool { return p.serves("alpha.example.test") })

	_, port, _ := net.SplitHostPort(p.https)
	if got, want := p.tcpHeader("alpha.example.test", "Alt-Svc"), `h3=":`+port+`"; ma=86400`; got != want {
		t.Errorf("Alt-Svc over TCP = %q; want %q", got, want)
	}
	c := p.h3Client()
	for _, name := range []string{"alpha", "beta"} {
		host := name + ".example.test"
		resp, body := h3Get(t, c, "https://"+host+"/")
		if resp.StatusCode != 200 || body != "hello from "+host || resp.Proto != "HTTP/3.0" {
			t.Errorf("%s over HTTP/3: %d %q %s", host, resp.StatusCode, body, resp.Proto)
		}
		if cn := resp.TLS.PeerCertificates[0].DNSNames; len(cn) == 0 || cn[0] != host {
			t.Errorf("%s over HTTP/3: certificate for %v", host, cn)
		}
	}
	if err := p.quicHandshake("unknown.example.test"); err == nil {
		t.Error("QUIC handshake for an unknown name succeeded")
	}

	// A commit swaps the snapshot while an HTTP/3 response is streaming.
	stream, err := c.Get("https://alpha.example.test/slow")
	if err != nil {
		t.Fatal(err)
	}
	<-g.entered
	writeGateSite(t, d, g, "gamma")
	d.repo.Commit("add gamma", nil)
	p.waitFor("gamma over HTTP/3", 20*time.Second, func() bool {
		resp, err := c.Get("https://gamma.example.test/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	g.release <- struct{}{} // one stream released; the channel stays open for the drain
	if b, err := io.ReadAll(stream.Body); err != nil || string(b) != "part1part2" {
		t.Errorf("HTTP/3 stream across a swap: %q, %v; want part1part2", b, err)
	}
	stream.Body.Close()
	if n := p.metric(`edge_http_request_duration_seconds_count{proto="h3"}`); n < 3 {
		t.Errorf("h3 requests in metrics: %v; want >= 3", n)
	}
	if !strings.Contains(p.out.String(), "proto=h3") {
		t.Error("no access log line with proto=h3")
	}
	testAgentHTTP3Drain(t, p, c, g)
}

// testAgentHTTP3Drain sends SIGTERM during an HTTP/3 request: new QUIC handshakes are
// refused, the request finishes, the agent exits 0.
func testAgentHTTP3Drain(t *testing.T, p *agentProc, c *http.Client, g *gateBackend) {
	stream, err := c.Get("https://beta.example.test/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	<-g.entered
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitFor("QUIC handshakes refused while draining", 20*time.Second, func() bool {
		return p.quicHandshake("alpha.example.test") != nil
	})
	close(g.release)
	if b, err := io.ReadAll(stream.Body); err != nil || string(b) != "part1part2" {
		t.Errorf("HTTP/3 request in flight at SIGTERM: %q, %v; want part1part2", b, err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("agent did not exit within 30s of the drained request")
	}
	if p.waitResult != nil {
		t.Errorf("exit: %v; want 0", p.waitResult)
	}
}

// TestAgentHTTP3Off runs the agent with --http3=false: no Alt-Svc, no UDP socket.
func TestAgentHTTP3Off(t *testing.T) {
	d := newDirRepo(t)
	d.add("alpha")
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--key-dir", d.keyDir, "--http3=false")
	p.waitFor("alpha served", 20*time.Second, func() bool { return p.serves("alpha.example.test") })
	if got := p.tcpHeader("alpha.example.test", "Alt-Svc"); got != "" {
		t.Errorf("--http3=false: Alt-Svc = %q; want none", got)
	}
	pc, err := net.ListenPacket("udp", p.https)
	if err != nil {
		t.Fatalf("--http3=false: UDP %s is bound: %v", p.https, err)
	}
	pc.Close()
}
