package edge

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// proxyDial connects to addr and sends header first.
func proxyDial(t testing.TB, addr net.Addr, header []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(header); err != nil {
		t.Fatal(err)
	}
	return c
}

// proxyGet sends a PROXY header, then GET path over TLS with SNI host, and returns the
// status and body.
func proxyGet(t testing.TB, addr net.Addr, header []byte, host, path string) (int, string) {
	t.Helper()
	tc := tlsClient(t, proxyDial(t, addr, header), clientTLS(t, host))
	io.WriteString(tc, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// closedByServer reports whether the server closes c (reading gets EOF or a reset)
// within the backstop.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	return err == nil || !strings.Contains(err.Error(), "timeout")
}

// PROXY v1 and v2 from a trusted peer give the client address to X-Forwarded-For, the
// access log and IP rules, IPv6 included; the plain-HTTP listener too.
func TestProxyProtocolClientAddress(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	srv := startServer(t, Options{ProxyProtocolFrom: prefixes("127.0.0.0/8"), AccessLog: NewAccessLogger(&log, false)})
	st := testSite(t, "pp", "pp.test")
	st.Routes[0].Upstreams = []*url.URL{xffBackend(t)}
	st.Access = &site.Access{Deny: prefixes("203.0.113.66/32", "2001:db8:bad::/48")}
	publish(t, srv, 1, st)
	// A load balancer connection whose header has not come yet holds up nobody else.
	proxyDial(t, srv.Addr(), []byte("PROXY TCP4 203.0."))
	src6, dst6 := netip.MustParseAddrPort("[2001:db8::9]:40000"), netip.MustParseAddrPort("[2001:db8::1]:443")
	bad6 := netip.MustParseAddrPort("[2001:db8:bad::1]:40000")
	for _, tc := range []struct {
		name   string
		header []byte
		code   int
		xff    string
	}{
		{"v1", []byte("PROXY TCP4 203.0.113.9 192.0.2.1 40000 443\r\n"), 200, "203.0.113.9"},
		{"v2 ipv6", proxyV2(1, 0x21, v2Addrs(src6, dst6), []byte{1, 0, 2, 'h', '2'}), 200, "2001:db8::9"},
		{"v1 denied", []byte("PROXY TCP4 203.0.113.66 192.0.2.1 40000 443\r\n"), 403, ""},
		{"v2 denied", proxyV2(1, 0x21, v2Addrs(bad6, dst6), nil), 403, ""},
		{"v2 local (health check)", proxyV2(0, 0, nil, nil), 200, "127.0.0.1"},
		{"v1 unknown", []byte("PROXY UNKNOWN\r\n"), 200, "127.0.0.1"},
		{"v1 IPv4-mapped", []byte("PROXY TCP6 ::ffff:198.51.100.9 ::ffff:192.0.2.1 40000 443\r\n"), 200, "198.51.100.9"},
	} {
		code, body := proxyGet(t, srv.Addr(), tc.header, "pp.test", "/")
		if code != tc.code || (code == 200 && body != tc.xff) {
			t.Errorf("%s: %d, X-Forwarded-For %q; want %d, %q", tc.name, code, body, tc.code, tc.xff)
		}
	}
	if !strings.Contains(log.String(), "remote=203.0.113.9:40000") || !strings.Contains(log.String(), "remote=[2001:db8::9]:40000") {
		t.Errorf("access log without the clients' addresses:\n%s", log.String())
	}
	c := proxyDial(t, srv.HTTPAddr(), []byte("PROXY TCP4 198.51.100.5 192.0.2.1 1234 80\r\nGET /x HTTP/1.1\r\nHost: pp.test\r\nConnection: close\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusMovedPermanently {
		t.Fatalf("plain HTTP: %v %v", resp, err)
	}
	waitFor(t, "the plain-HTTP request in the access log", func() bool { return strings.Contains(log.String(), "remote=198.51.100.5:1234") })
}

// From a trusted peer, a connection without a header, with a malformed or oversized one,
// or one that never finishes is closed (the slow one once ReadHeaderTimeout passes) and
// counted, and its connection slot is freed.
func TestProxyProtocolRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{ProxyProtocolFrom: prefixes("127.0.0.1/32"), Limits: Limits{ReadHeaderTimeout: 300 * time.Millisecond}, Logger: slog.New(slog.DiscardHandler)})
	publish(t, srv, 1, testSite(t, "pp", "pp.test"))
	src, dst := netip.MustParseAddrPort("203.0.113.9:1"), netip.MustParseAddrPort("192.0.2.1:443")
	big := append([]byte{0x04, 0x04, 0x00}, make([]byte, 0x400)...)
	for _, tc := range []struct {
		name, reason string
		send         []byte
	}{
		{"no header (TLS)", "missing", []byte("\x16\x03\x01\x00\x05hello")},
		{"malformed v1", "invalid", []byte("PROXY TCP4 203.0.113.9 192.0.2.1 99999 443\r\n")},
		{"oversized v2 TLV", "too_large", proxyV2(1, 0x11, v2Addrs(src, dst), big)},
		{"partial header", "timeout", []byte("PROXY TCP4 203.0")},
	} {
		c := proxyDial(t, srv.Addr(), tc.send)
		if !closedByServer(c) {
			t.Errorf("%s: connection not closed", tc.name)
		}
		waitFor(t, tc.name+" counted", func() bool {
			return testutil.ToFloat64(srv.metrics.access.proxyErrors.WithLabelValues(tc.reason)) >= 1
		})
	}
	waitFor(t, "connection slots freed", func() bool {
		return testutil.ToFloat64(srv.metrics.connections.WithLabelValues("https")) == 0
	})
}

// A PROXY header from a peer that is not trusted is never believed: the TLS handshake and
// the plain-HTTP request fail.
func TestProxyProtocolUntrustedPeer(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{ProxyProtocolFrom: prefixes("192.0.2.0/24")})
	st := testSite(t, "pp", "pp.test")
	st.Routes[0].Upstreams = []*url.URL{xffBackend(t)}
	publish(t, srv, 1, st)
	c := proxyDial(t, srv.Addr(), []byte("PROXY TCP4 203.0.113.9 192.0.2.1 40000 443\r\n"))
	tc := tls.Client(c, clientTLS(t, "pp.test"))
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err == nil {
		t.Error("handshake after a spoofed PROXY header succeeded")
	}
	h := proxyDial(t, srv.HTTPAddr(), []byte("PROXY TCP4 203.0.113.9 192.0.2.1 1234 80\r\nGET / HTTP/1.1\r\nHost: pp.test\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(h), nil)
	if err == nil && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP after a spoofed PROXY header: %d; want 400", resp.StatusCode)
	}
	// And without a header, the peer is served as itself.
	if code, body, _ := get(t, httpClient(t, srv.Addr(), false), "https://pp.test/"); code != 200 || body != "127.0.0.1" {
		t.Errorf("plain client: %d %q", code, body)
	}
}

// The passthrough sees the client from the PROXY header and passes it on in its own.
func TestProxyProtocolPassthrough(t *testing.T) {
	t.Parallel()
	app := startTLSApp(t, "app", true, "pt.test")
	srv := startServer(t, Options{ProxyProtocolFrom: prefixes("127.0.0.0/8")})
	publish(t, srv, 1, ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}, ProxyProtocol: true}, "pt.test"))
	c := tlsClient(t, proxyDial(t, srv.Addr(), []byte("PROXY TCP4 203.0.113.9 192.0.2.1 40000 443\r\n")), clientTLS(t, "pt.test"))
	if got, err := echo(c, bufio.NewReader(c), "hi"); err != nil || got != "app hi" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	if got := app.announced(); len(got) != 1 || got[0] != "203.0.113.9:40000" {
		t.Errorf("the app was announced %v; want 203.0.113.9:40000", got)
	}
}

// A client spraying addresses (one IPv6 /64 per connection, given by PROXY v2 headers)
// fills a rate limit's table up to max_clients and no further, each address served
// within its burst; addresses of one /64 share a bucket.
func TestRateLimitAddressSpraying(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{ProxyProtocolFrom: prefixes("127.0.0.0/8")})
	st := testSite(t, "spray", "spray.test")
	st.Routes[0].Upstreams = []*url.URL{xffBackend(t)}
	st.RateLimit = &site.RateLimit{Requests: 1, Per: time.Hour, Burst: 1, MaxClients: 20}
	publish(t, srv, 1, st)
	conf := clientTLS(t, "spray.test")
	conf.ClientSessionCache = tls.NewLRUClientSessionCache(1) // resumed handshakes: cheap
	dst := netip.MustParseAddrPort("[2001:db8::1]:443")
	get := func(src string) int {
		h := proxyV2(1, 0x21, v2Addrs(netip.MustParseAddrPort(src), dst), nil)
		tc := tls.Client(proxyDial(t, srv.Addr(), h), conf)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		defer tc.Close()
		io.WriteString(tc, "GET / HTTP/1.1\r\nHost: spray.test\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 120 {
		if code := get(fmt.Sprintf("[2001:db8:%x:%x::1]:1000", i>>16, i&0xffff)); code != 200 {
			t.Fatalf("sprayed address %d: %d; want 200 (a fresh bucket)", i, code)
		}
	}
	if n := srv.Current().byName["spray"].access.limit.size(); n != 20 {
		t.Errorf("rate limit table holds %d clients after 120 addresses; want max_clients (20)", n)
	}
	if get("[2001:db8:ffff:1::1]:1") != 200 || get("[2001:db8:ffff:1:abcd::2]:2") != 429 {
		t.Error("two addresses of one /64 do not share a bucket")
	}
}
