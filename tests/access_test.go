package tests

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testenv"
)

// The tests of this file put a real HAProxy in front of the agent binary, sending the
// PROXY protocol (v1 and v2, over IPv4 and IPv6), and check the client address the edge
// sees (X-Forwarded-For at the upstream, the access log) and the access rules acting on
// it; curl sends encoded forbidden paths and h2load bursts against a rate limit.

// clientEcho answers with the X-Forwarded-For it got.
func clientEcho(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "xff="+r.Header.Get("X-Forwarded-For"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// writeAccessSite writes site name (host name.example.test) with the CUE body given
// (the fields after hosts, cert and key), its certificate and key.
func writeAccessSite(t *testing.T, d *dirRepo, name, body string) {
	t.Helper()
	s := sitegen.Site{Name: name, Hosts: []string{name + ".example.test"}, Upstreams: []string{"http://127.0.0.1:1"},
		Key: schema.KeyRef{Mount: "secret", Path: "edge/" + name, Field: "key"}}
	g, err := sitegen.WriteSite(d.repo.Dir, s, sitegen.Options{CA: d.ca, KeyDir: d.keyDir})
	if err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf("package edge\n\nsites: %q: {\n\thosts: [%q]\n\tcert: %q\n\tkey: path: \"edge/%s\"\n%s\n}\n",
		name, name+".example.test", g.CertFile, name, body)
	if err := os.WriteFile(filepath.Join(d.repo.Dir, g.File), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// haproxyFront is HAProxy in TCP mode: each frontend forwards to the edge with a PROXY
// header of its version.
type haproxyFront struct {
	v1, v2, v6, http string // listen addresses
}

// startHAProxy runs HAProxy in front of the edge's HTTPS (https) and plain-HTTP (plain)
// listeners.
func startHAProxy(t *testing.T, https, plain string) haproxyFront {
	bin := testenv.NeedTool(t, "haproxy", "haproxy")
	f := haproxyFront{v1: freeAddr(t), v2: freeAddr(t), http: freeAddr(t)}
	l6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("IPv6 loopback: %v", err)
	}
	f.v6 = l6.Addr().String()
	l6.Close()
	front := func(name, bind, to, proxy string) string {
		return fmt.Sprintf("frontend %s\n  bind %s\n  default_backend %s_b\nbackend %s_b\n  server edge %s %s\n", name, bind, name, name, to, proxy)
	}
	cfg := "global\n  maxconn 2000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n" +
		front("v1", f.v1, https, "send-proxy") + front("v2", f.v2, https, "send-proxy-v2") +
		front("v6", f.v6, https, "send-proxy-v2") + front("plain", f.http, plain, "send-proxy")
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out := &testenv.SyncBuffer{}
	exited := testenv.StartProcess(t, "haproxy", exec.Command(bin, "-db", "-f", path), out)
	for _, a := range []string{f.v1, f.v2, f.v6, f.http} {
		waitListening(t, a, exited, out)
	}
	return f
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string, exited <-chan struct{}, out *testenv.SyncBuffer) {
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("haproxy exited:\n%s", out.String())
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s", addr)
}

// getVia does GET https://host/path through the TCP address via, from the local
// address from ("" for any), and returns the status and body.
func getVia(t *testing.T, p *agentProc, via, from, host, path string) (int, string) {
	t.Helper()
	code, body, err := tryVia(p, via, from, host, path)
	if err != nil {
		t.Fatalf("GET %s%s via %s from %s: %v", host, path, via, from, err)
	}
	return code, body
}

// tryVia is getVia returning the error.
func tryVia(p *agentProc, via, from, host, path string) (int, string, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: p.ca.Pool(), ServerName: host},
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", via) },
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + host + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// TestAccessBehindHAProxy: the agent, started with --proxy-protocol-from, behind HAProxy
// sending PROXY v1 and v2 (IPv4 and IPv6): the upstream's X-Forwarded-For and the access
// log carry the real client, and site and route IP rules act on it; a spoofed header from
// an untrusted peer and an oversized one from a trusted peer are refused; encoded
// forbidden paths get 404; h2load bursts against a rate limit get exactly the burst.
func TestAccessBehindHAProxy(t *testing.T) {
	t.Parallel()
	d := newDirRepo(t)
	echo := clientEcho(t)
	writeAccessSite(t, d, "pp", fmt.Sprintf(`	access: deny: ["127.0.0.6"]
	forbidden_paths: ["/.git/*", "*.bak"]
	routes: {
		"/": upstreams: [%q]
		"/admin": {
			upstreams: [%q]
			access: allow: ["127.0.0.7", "::1"]
		}
	}`, echo, echo))
	writeAccessSite(t, d, "rl", fmt.Sprintf(`	rate_limit: {requests: 1, per: "1h", burst: 50}
	routes: "/": upstreams: [%q]`, echo))
	d.repo.Commit("access sites", nil)
	plain := freeAddr(t)
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--interval", "200ms", "--key-dir", d.keyDir,
		"--access-log", "text", "--http-listen", plain, "--proxy-protocol-from", "127.0.0.1,::1")
	hp := startHAProxy(t, p.https, plain)
	p.waitFor("pp served via HAProxy", 20*time.Second, func() bool {
		code, _, err := tryVia(p, hp.v2, "127.0.0.5", "pp.example.test", "/")
		return err == nil && code == 200
	})

	for _, tc := range []struct {
		name, via, from, path string
		code                  int
		xff                   string
	}{
		{"v1", hp.v1, "127.0.0.5", "/", 200, "127.0.0.5"},
		{"v2", hp.v2, "127.0.0.8", "/x", 200, "127.0.0.8"},
		{"v2 over IPv6", hp.v6, "::1", "/", 200, "::1"},
		{"v1 site deny", hp.v1, "127.0.0.6", "/", 403, ""},
		{"v2 site deny", hp.v2, "127.0.0.6", "/admin", 403, ""},
		{"v2 route allow", hp.v2, "127.0.0.7", "/admin", 200, "127.0.0.7"},
		{"v2 route not allowed", hp.v2, "127.0.0.5", "/admin", 403, ""},
		{"IPv6 route allow", hp.v6, "::1", "/admin", 200, "::1"},
	} {
		code, body := getVia(t, p, tc.via, tc.from, "pp.example.test", tc.path)
		if code != tc.code || (code == 200 && body != "xff="+tc.xff) {
			t.Errorf("%s: %d %q; want %d with xff=%s", tc.name, code, body, tc.code, tc.xff)
		}
	}
	if n := p.counter(`edge_requests_denied_total{reason="ip",site="pp"}`); n != 3 {
		t.Errorf("ip denials counted: %v; want 3", n)
	}

	// The plain-HTTP listener behind HAProxy logs the client too.
	resp := httpVia(t, hp.http, "127.0.0.9", "http://pp.example.test/y")
	if resp.StatusCode != http.StatusMovedPermanently {
		t.Errorf("plain HTTP via HAProxy: %d", resp.StatusCode)
	}
	for _, want := range []string{"remote=127.0.0.5:", "remote=127.0.0.8:", "remote=[::1]:", "remote=127.0.0.9:"} {
		p.waitFor("access log "+want, 10*time.Second, func() bool { return strings.Contains(p.out.String(), want) })
	}

	testAccessSpoofed(t, p)
	testAccessForbiddenCurl(t, p, hp)
	testAccessRateLimitH2load(t, p, hp)
}

// httpVia sends GET url (plain HTTP) through via from the local address from.
func httpVia(t *testing.T, via, from, url string) *http.Response {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", via) }},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// testAccessSpoofed: from an untrusted peer (127.0.0.9) a PROXY header is never believed:
// the handshake fails; without one the peer is served as itself. From a trusted peer, a
// v2 header with more TLV bytes than allowed is refused and counted.
func testAccessSpoofed(t *testing.T, p *agentProc) {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}}
	c, err := d.Dial("tcp", p.https)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "PROXY TCP4 127.0.0.7 127.0.0.1 5555 443\r\n")
	tc := tls.Client(c, &tls.Config{RootCAs: p.ca.Pool(), ServerName: "pp.example.test"})
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err == nil {
		t.Error("a spoofed PROXY header from an untrusted peer was accepted")
	}
	if code, body := getVia(t, p, p.https, "127.0.0.9", "pp.example.test", "/"); code != 200 || body != "xff=127.0.0.9" {
		t.Errorf("untrusted peer without a header: %d %q; want 200 as itself", code, body)
	}

	big := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x00")
	body := append([]byte{127, 0, 0, 7, 127, 0, 0, 1, 0x15, 0xb3, 0x01, 0xbb, 0xe0, 0x08, 0x00}, make([]byte, 2048)...)
	binary.BigEndian.PutUint16(big[14:], uint16(len(body)))
	o, err := net.Dial("tcp", p.https) // from 127.0.0.1: trusted
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	o.Write(append(big, body...))
	o.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, o); err != nil && strings.Contains(err.Error(), "timeout") {
		t.Error("a connection with an oversized PROXY v2 header was kept open")
	}
	if n := p.counter(`edge_proxy_protocol_errors_total{reason="too_large"}`); n != 1 {
		t.Errorf("oversized headers counted: %v; want 1", n)
	}
}

// testAccessForbiddenCurl: curl (--path-as-is, so it sends the path unchanged), through
// HAProxy, gets 404 for forbidden paths however they are encoded, and 200 beside them.
func testAccessForbiddenCurl(t *testing.T, p *agentProc, hp haproxyFront) {
	curl := testenv.NeedTool(t, "curl", "curl")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, p.ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(hp.v1)
	status := func(path string) string {
		out, err := exec.Command(curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--path-as-is", "--cacert", caFile,
			"--resolve", "pp.example.test:"+port+":127.0.0.1", "https://pp.example.test:"+port+path).Output()
		if err != nil {
			t.Fatalf("curl %s: %v", path, err)
		}
		return string(out)
	}
	forbidden := []string{"/.git/config", "/%2egit/config", "/%2Egit%2fconfig", "/a/../.git/HEAD", "/./.git/HEAD", "/.GIT/config", "/x.bak", "/dir/%78.BaK"}
	for _, path := range forbidden {
		if got := status(path); got != "404" {
			t.Errorf("%s: %s; want 404", path, got)
		}
	}
	for _, path := range []string{"/.github/x", "/x.bak.txt"} {
		if got := status(path); got != "200" {
			t.Errorf("%s: %s; want 200", path, got)
		}
	}
	if n := p.counter(`edge_requests_denied_total{reason="forbidden_path",site="pp"}`); n != float64(len(forbidden)) {
		t.Errorf("forbidden_path denials: %v; want %d", n, len(forbidden))
	}
}

// testAccessRateLimitH2load: h2load sends 400 requests over 4 connections, 8 streams
// each, through HAProxy (PROXY v2) to a site allowing a burst of 50 and one request an
// hour after it: exactly 50 succeed and the other 350 get 429 with Retry-After.
func testAccessRateLimitH2load(t *testing.T, p *agentProc, hp haproxyFront) {
	h2load := testenv.NeedTool(t, "h2load", "nghttp2-client")
	out, err := exec.Command(h2load, "-n", "400", "-c", "4", "-m", "8", "--connect-to", hp.v2,
		"https://rl.example.test/").CombinedOutput()
	if err != nil {
		t.Fatalf("h2load: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`status codes: (\d+) 2xx, \d+ 3xx, (\d+) 4xx, (\d+) 5xx`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("h2load output without status codes:\n%s", out)
	}
	ok, _ := strconv.Atoi(string(m[1]))
	limited, _ := strconv.Atoi(string(m[2]))
	if ok != 50 || limited != 350 {
		t.Errorf("h2load: %d 2xx, %d 4xx; want exactly the burst (50) through and 350 refused\n%s", ok, limited, out)
	}
	if n := p.counter(`edge_requests_denied_total{reason="rate_limit",site="rl"}`); n != 350 {
		t.Errorf("rate_limit denials: %v; want 350", n)
	}
	code, _, hdr := func() (int, string, http.Header) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.ca.Pool(), ServerName: "rl.example.test"},
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "tcp", hp.v2)
			}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://rl.example.test/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, "", resp.Header
	}()
	if ra, _ := strconv.Atoi(hdr.Get("Retry-After")); code != 429 || ra < 1 || ra > 3600 {
		t.Errorf("past the burst: %d, Retry-After %q; want 429 with a wait of up to an hour", code, hdr.Get("Retry-After"))
	}
}
