package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// recUpstream is a raw HTTP/1.1 upstream that records the head of every request it reads
// and answers each with the response it is given (keeping the connection unless the
// response says close).
type recUpstream struct {
	URL *url.URL

	mu    sync.Mutex
	heads []string
	resp  string
}

func newRecUpstream(t *testing.T) *recUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	u := &recUpstream{URL: &url.URL{Scheme: "http", Host: ln.Addr().String()}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go u.serve(c)
		}
	}()
	return u
}

func (u *recUpstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		u.mu.Lock()
		u.heads = append(u.heads, head.String())
		resp := u.resp
		u.mu.Unlock()
		if _, err := io.WriteString(c, resp); err != nil || strings.Contains(resp, "Connection: close\r\n") {
			return
		}
	}
}

// exchange sets the next response and returns the heads read since the last call.
func (u *recUpstream) exchange(resp string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	heads := u.heads
	u.heads, u.resp = nil, resp
	return heads
}

// reverseProxyOnly serves h the way it served every request before the direct forward:
// through httputil.ReverseProxy, the reference.
func reverseProxyOnly(h *Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := new(Info)
		r = r.WithContext(WithInfo(r.Context(), info))
		defer h.finish(info, r)
		h.reverseProxy().ServeHTTP(w, r)
	})
}

// rawRoundTrip writes req to the server at addr and returns all it answers until it
// closes the connection (req asks it to), without the Date header.
func rawRoundTrip(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the response to %q: %v", req, err)
	}
	var out []string
	for _, line := range strings.SplitAfter(string(b), "\r\n") {
		if !strings.HasPrefix(line, "Date: ") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// forwardCase is one request and the upstream's raw answer to it. Responses of unknown
// length carry a Content-Type: without one, whether ReverseProxy's client gets a sniffed
// one depends on a race between its header flush (a timer) and the first body write.
type forwardCase struct {
	name string
	req  string // without the final CRLF; "Connection: close" is added
	resp string
}

var forwardCases = []forwardCase{
	{"plain", "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: curl/8\r\nAccept: */*\r\nX-Multi: 1\r\nX-Multi: 2\r\nX-Space:  padded \r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello"},
	{"hop-by-hop both ways", "GET / HTTP/1.1\r\nHost: shop.example.com\r\nConnection: x-secret, keep-alive, User-Agent\r\nUser-Agent: curl/8\r\n" +
		"X-Secret: s\r\nKeep-Alive: 300\r\nTe: gzip, trailers\r\nProxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Kept: k\r\n",
		"HTTP/1.1 200 OK\r\nConnection: X-Internal, keep-alive\r\nX-Internal: a\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nX-Kept: b\r\nContent-Length: 2\r\n\r\nok"},
	{"client forwarding headers", "GET / HTTP/1.1\r\nHost: shop.example.com\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Port: 1\r\n" +
		"X_Forwarded_Proto: http\r\nX-Real-Ip: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nTrue-Client-Ip: 6.6.6.6\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{"a proxy's forwarding headers", "GET / HTTP/1.1\r\nHost: shop.example.com\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 7.7.7.7, 8.8.8.8\r\n" +
		"X-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-Port: 443\r\nConnection: X-Forwarded-Host, X-Forwarded-Port\r\nX-Forwarded-Host: a.example\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{"no user agent", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"empty user agent", "GET / HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent:\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"dot segments and escapes", "GET /a/../b//c/%2e%2e/d%2Fe?q=%41 HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"escaped slash kept", "GET /files/a%2Fb HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"absolute form", "GET http://shop.example.com/x?y HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"options star", "OPTIONS * HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nAllow: GET\r\nContent-Length: 0\r\n\r\n"},
	{"head", "HEAD /page HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1234\r\n\r\n"},
	{"head unknown length", "HEAD /page HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"},
	{"204", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"},
	{"304", "GET / HTTP/1.1\r\nHost: shop.example.com\r\nIf-None-Match: \"v1\"\r\n", "HTTP/1.1 304 Not Modified\r\nEtag: \"v1\"\r\nContent-Length: 10\r\n\r\n"},
	{"103 early hints", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"},
	{"announced trailers", "GET / HTTP/1.1\r\nHost: shop.example.com\r\nTe: trailers\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\n"},
	{"unannounced trailers", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 42\r\nX-Extra: 1\r\n\r\n"},
	{"chunked", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	{"event stream", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nContent-Length: 6\r\n\r\ndata:\n"},
	{"until close", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nall of it"},
	{"http/1.0 upstream", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{"unasked switch", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n"},
	{"unasked switch, no upgrade", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 101 Switching Protocols\r\n\r\n"},
	{"upstream 503", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 4\r\n\r\nbusy"},
	{"express-like names", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n",
		"HTTP/1.1 200 OK\r\nx-powered-by: Express\r\ncontent-type: text/html; charset=utf-8\r\nETag: W/\"5-x\"\r\nCONTENT-LENGTH: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nhello"},
	{"close after", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"},
	{"two lengths", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length:  2 \r\n\r\nok"},
	{"length zero", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 000\r\n\r\n"},
	{"pragma", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\nok"},
	{"odd values", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n",
		"HTTP/1.1 200\r\nX-Name: caf\xc3\xa9\r\nX-Pad: \t a b  \r\nX-Empty:\r\nContent-Length: 2\r\n\r\nok"},
	{"folded value", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok"},
	{"bare LF", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\nX-A: a\r\nContent-Length: 2\r\n\r\nok"},
	{"malformed line", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nBad Header\r\nContent-Length: 2\r\n\r\nok"},
	{"bad length", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok"},
	{"big head", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 20000) + "\r\nContent-Length: 2\r\n\r\nok"},
	{"many fields", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-F: v\r\n", 70) + "Content-Length: 2\r\n\r\nok"},
	{"bad status", "GET / HTTP/1.1\r\nHost: shop.example.com\r\n", "HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n"},
}

// TestDirectForwardMatchesReverseProxy sends each request through the direct forward and
// through httputil.ReverseProxy, and compares what the upstream read and what the client
// got, byte for byte (but the Date header).
func TestDirectForwardMatchesReverseProxy(t *testing.T) {
	root := func(u *url.URL) site.Route { return site.Route{Path: "/", Upstreams: []*url.URL{u}} }
	for _, route := range []struct {
		name  string
		route func(*url.URL) site.Route
		path  string
		opts  Options
	}{
		{"root", root, "", Options{}},
		{"from a trusted proxy", root, "", Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}},
		{"strip prefix to a base path", func(u *url.URL) site.Route {
			base := *u
			base.Path, base.RawQuery = "/base/", "k=v"
			return site.Route{Path: "/api/", StripPrefix: true, Upstreams: []*url.URL{&base}}
		}, "/api", Options{}},
	} {
		t.Run(route.name, func(t *testing.T) {
			up := newRecUpstream(t)
			h := mustHandler(t, newManager(t, route.opts), route.route(up.URL))
			direct := front(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !h.direct(r) {
					t.Errorf("%s %s: not forwarded directly", r.Method, r.RequestURI)
				}
				h.ServeHTTP(w, r)
			}))
			ref := front(t, reverseProxyOnly(h))
			for _, c := range forwardCases {
				req := c.req
				if route.path != "" {
					req = strings.Replace(req, " /", " "+route.path+"/", 1)
				}
				req += "Connection: close\r\n\r\n"
				up.exchange(c.resp)
				got := rawRoundTrip(t, direct.Listener.Addr().String(), req)
				gotHeads := up.exchange(c.resp)
				want := rawRoundTrip(t, ref.Listener.Addr().String(), req)
				wantHeads := up.exchange("")
				if strings.Join(gotHeads, "") != strings.Join(wantHeads, "") {
					t.Errorf("%s: the upstream read\n%q\nwant (ReverseProxy)\n%q", c.name, gotHeads, wantHeads)
				}
				if got != want {
					t.Errorf("%s: the client got\n%q\nwant (ReverseProxy)\n%q", c.name, got, want)
				}
			}
		})
	}
}

// TestDirectForwardChoice: what goes through ReverseProxy instead.
func TestDirectForwardChoice(t *testing.T) {
	m := newManager(t, Options{})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{{Scheme: "http", Host: "127.0.0.1:1"}}})
	req := func(method, target string, edit func(*http.Request)) *http.Request {
		r := httptest.NewRequest(method, target, nil)
		ctx, cancel := context.WithCancel(r.Context())
		t.Cleanup(cancel)
		r = r.WithContext(ctx)
		if edit != nil {
			edit(r)
		}
		return r
	}
	tests := []struct {
		name string
		r    *http.Request
		want bool
	}{
		{"GET", req("GET", "/x?a=1", nil), true},
		{"HEAD", req("HEAD", "/", nil), true},
		{"POST", req("POST", "/", nil), false},
		{"body", req("GET", "/", func(r *http.Request) { r.ContentLength = 3; r.Body = io.NopCloser(strings.NewReader("abc")) }), false},
		{"upgrade", req("GET", "/", func(r *http.Request) { r.Header.Set("Connection", "Upgrade"); r.Header.Set("Upgrade", "websocket") }), false},
		{"upgrade not in Connection", req("GET", "/", func(r *http.Request) { r.Header.Set("Upgrade", "websocket") }), true},
		{"expect", req("GET", "/", func(r *http.Request) { r.Header.Set("Expect", "100-continue") }), false},
		{"semicolon query", req("GET", "/?a=1;b=2", nil), false},
		{"bad escape in query", req("GET", "/?a=%zz", nil), false},
		{"no host", req("GET", "/", func(r *http.Request) { r.Host = "" }), false},
		{"zone in host", req("GET", "/", func(r *http.Request) { r.Host = "[fe80::1%25en0]" }), false},
		{"no cancellation", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			return r.WithContext(context.Background())
		}(), false},
	}
	for _, tt := range tests {
		if got := h.direct(tt.r); got != tt.want {
			t.Errorf("%s: direct = %v; want %v", tt.name, got, tt.want)
		}
	}
}

// TestDirectForwardClientGoneMidBody: when the client leaves in the middle of a direct
// forward's body, the upstream connection is closed, not pooled with the rest of a
// response in it.
func TestDirectForwardClientGoneMidBody(t *testing.T) {
	closed := make(chan struct{})
	u := rawBackend(t, func(c net.Conn, br *bufio.Reader, _ *http.Request) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"+strings.Repeat("x", 64<<10))
		if _, err := br.ReadByte(); err != nil { // the proxy closes the connection
			close(closed)
		}
	})
	m := newManager(t, Options{})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{u}})
	fe, infos := observed(t, h)
	c := rawRequest(t, fe, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	if code := readStatus(t, c); code != 200 {
		t.Fatalf("status %d; want 200", code)
	}
	c.Close()
	if info := recvInfo(t, infos); info.Outcome != OutcomeClientClosed {
		t.Errorf("Outcome = %q; want %q", info.Outcome, OutcomeClientClosed)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream connection was not closed after the client left")
	}
	fast := h.targets[0].up.fast
	fast.mu.Lock()
	defer fast.mu.Unlock()
	if n := len(fast.idle); n != 0 {
		t.Errorf("%d idle upstream connections; want 0", n)
	}
}
