package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
)

// rawUpstream is a TCP server running script on every accepted connection: for the
// faults a well-behaved HTTP server does not produce.
type rawUpstream struct {
	addr    string
	accepts atomic.Int64
}

func newRawUpstream(t *testing.T, script func(c net.Conn, br *bufio.Reader)) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	u := &rawUpstream{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.accepts.Add(1)
			go func() {
				defer c.Close()
				script(c, bufio.NewReader(c))
			}()
		}
	}()
	return u
}

// readRequest reads one request head; false when the client closed the connection.
func readRequest(br *bufio.Reader) bool {
	tp := textproto.NewReader(br)
	if _, err := tp.ReadLine(); err != nil {
		return false
	}
	_, err := tp.ReadMIMEHeader()
	return err == nil
}

func testClient(addr string, headerTimeout time.Duration) *h1Client {
	d := &net.Dialer{}
	return &h1Client{
		dial:          func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) },
		headerTimeout: headerTimeout, maxIdle: 4, idleTTL: time.Minute,
	}
}

func getReq(t *testing.T, ctx context.Context, addr, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// fetch sends a GET and reads the whole body.
func fetch(t *testing.T, c *h1Client, addr, path string) (*http.Response, string, error) {
	t.Helper()
	res, err := c.RoundTrip(getReq(t, context.Background(), addr, path))
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b), err
}

func TestFastPathChoice(t *testing.T) {
	cases := []struct {
		method string
		body   io.ReadCloser
		header string
		want   bool
	}{
		{"GET", nil, "", true},
		{"HEAD", http.NoBody, "", true},
		{"OPTIONS", nil, "", true},
		{"POST", nil, "", false},
		{"DELETE", nil, "", false},
		{"GET", io.NopCloser(strings.NewReader("x")), "", false},
		{"GET", nil, "Upgrade", false},
		{"GET", nil, "Expect", false},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, "http://x/", nil)
		req.Body = c.body
		if c.header != "" {
			req.Header.Set(c.header, "websocket")
		}
		if got := fastPath(req); got != c.want {
			t.Errorf("fastPath(%s, body %v, %q) = %v, want %v", c.method, c.body != nil, c.header, got, c.want)
		}
	}
}

func TestH1ClientReusesConnection(t *testing.T) {
	b := newBackend(t, named("a"))
	c := testClient(b.URL.Host, 0)
	for i := 0; i < 5; i++ {
		res, body, err := fetch(t, c, b.URL.Host, "/")
		if err != nil || res.StatusCode != 200 || body != "a" {
			t.Fatalf("request %d: %v %v %q", i, res, err, body)
		}
	}
	if n := b.conns.Load(); n != 1 {
		t.Errorf("5 requests used %d connections, want 1", n)
	}
}

func TestH1ClientChunkedTrailers(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		w.Write([]byte("part1"))
		w.(http.Flusher).Flush()
		w.Write([]byte("part2"))
		w.Header().Set("X-Sum", "42")
	})
	c := testClient(b.URL.Host, 0)
	for i := 0; i < 2; i++ {
		res, body, err := fetch(t, c, b.URL.Host, "/")
		if err != nil || body != "part1part2" || res.Trailer.Get("X-Sum") != "42" {
			t.Fatalf("got %q, trailer %v, err %v", body, res.Trailer, err)
		}
	}
	if n := b.conns.Load(); n != 1 {
		t.Errorf("chunked responses used %d connections, want 1", n)
	}
}

// TestH1ClientRetriesClosedIdle: the upstream closes a keep-alive connection right after
// answering (its idle timeout racing the next request); the next request is sent again on
// a fresh connection and succeeds.
func TestH1ClientRetriesClosedIdle(t *testing.T) {
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	c := testClient(u.addr, 0)
	for i := 0; i < 3; i++ {
		if _, body, err := fetch(t, c, u.addr, "/"); err != nil || body != "ok" {
			t.Fatalf("request %d: %q %v", i, body, err)
		}
	}
	if n := u.accepts.Load(); n < 3 {
		t.Errorf("%d connections for 3 requests on an upstream closing each one", n)
	}
}

// TestH1ClientRetries408: a 408 on a reused connection is the upstream closing it while
// idle: the request goes again on a fresh connection.
func TestH1ClientRetries408(t *testing.T) {
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
		if readRequest(br) {
			io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		}
	})
	c := testClient(u.addr, 0)
	for i := 0; i < 2; i++ {
		res, body, err := fetch(t, c, u.addr, "/")
		if err != nil || res.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d: %v %q %v", i, res, body, err)
		}
	}
	if n := u.accepts.Load(); n != 2 {
		t.Errorf("accepted %d connections, want 2", n)
	}
}

func TestH1ClientHeaderLimit(t *testing.T) {
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if !readRequest(br) {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		line := "X-Fill: " + strings.Repeat("a", 8000) + "\r\n"
		for i := 0; i < 2000; i++ {
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
		}
	})
	_, _, err := fetch(t, testClient(u.addr, 0), u.addr, "/")
	if !errors.Is(err, errHeadersTooLarge) {
		t.Fatalf("16 MB of headers: err %v, want %v", err, errHeadersTooLarge)
	}
}

func TestH1ClientInformational(t *testing.T) {
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if readRequest(br) {
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"+
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	var got []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if h.Get("Link") == "" {
			t.Errorf("103 without its Link header")
		}
		got = append(got, code)
		return nil
	}}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	res, err := testClient(u.addr, 0).RoundTrip(getReq(t, ctx, u.addr, "/"))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("%v %v", res, err)
	}
	res.Body.Close()
	if len(got) != 1 || got[0] != 103 {
		t.Errorf("1xx seen: %v, want [103]", got)
	}
}

func TestH1ClientHeaderTimeout(t *testing.T) {
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.Copy(io.Discard, br) // never answers
	})
	_, _, err := fetch(t, testClient(u.addr, 50*time.Millisecond), u.addr, "/")
	if !errors.Is(err, errHeaderTimeout) || !isTimeout(err) {
		t.Fatalf("err %v, want the response-header timeout", err)
	}
}

// TestH1ClientCancelMidBody: a cancelled request (the client left) interrupts a body
// read blocked on a stalled upstream, and the connection is not reused.
func TestH1ClientCancelMidBody(t *testing.T) {
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
			io.Copy(io.Discard, br)
		}
	})
	c := testClient(u.addr, 0)
	ctx, cancel := context.WithCancel(context.Background())
	res, err := c.RoundTrip(getReq(t, ctx, u.addr, "/"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(res.Body, buf); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := res.Body.Read(buf); done <- err }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("read after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("body read still blocked 30s after the request was cancelled")
	}
	res.Body.Close()
	if n := len(c.idle); n != 0 {
		t.Errorf("%d idle connections after a cancelled body, want 0", n)
	}
}

// TestH1ClientNoReuse: a body closed early, a response with Connection: close and bytes
// after the response all close the connection instead of pooling it.
func TestH1ClientNoReuse(t *testing.T) {
	for name, resp := range map[string]string{
		"close":       "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
		"unsolicited": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n",
		"early close": "HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + strings.Repeat("x", 20000),
	} {
		t.Run(name, func(t *testing.T) {
			u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
				for readRequest(br) {
					io.WriteString(c, resp)
				}
			})
			c := testClient(u.addr, 0)
			res, err := c.RoundTrip(getReq(t, context.Background(), u.addr, "/"))
			if err != nil {
				t.Fatal(err)
			}
			if name == "early close" {
				res.Body.Read(make([]byte, 10))
			} else {
				io.ReadAll(res.Body)
			}
			res.Body.Close()
			if n := len(c.idle); n != 0 {
				t.Errorf("%d idle connections, want 0", n)
			}
		})
	}
}

// TestH1ClientPrunesIdle: a connection idle past the idle timeout is closed (the
// upstream sees EOF) without any new request.
func TestH1ClientPrunesIdle(t *testing.T) {
	closed := make(chan struct{})
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		for readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
		close(closed)
	})
	c := testClient(u.addr, 0)
	c.idleTTL = 20 * time.Millisecond
	if _, _, err := fetch(t, c, u.addr, "/"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("idle connection still open 30s after a 20ms idle timeout")
	}
}

func TestH1ClientRefusesInvalidHeader(t *testing.T) {
	b := newBackend(t, named("a"))
	req := getReq(t, context.Background(), b.URL.Host, "/")
	req.Header["X-Bad"] = []string{"a\r\nX-Injected: 1"}
	if _, err := testClient(b.URL.Host, 0).RoundTrip(req); err == nil || strings.Contains(err.Error(), "Injected") {
		t.Fatalf("err %v: want a refusal that does not quote the value", err)
	}
	if n := b.hits.Load(); n != 0 {
		t.Errorf("the upstream got %d requests", n)
	}
}

// BenchmarkUpstreamClient compares the fast path with net/http's Transport on the same
// keep-alive upstream: a GET with a 29-byte answer, the body read to its end. reads/op
// counts the read system calls of the process (upstream included; /proc/self/io, Linux),
// cpu-µs/op the process's CPU time (user and system, upstream included).
func BenchmarkUpstreamClient(b *testing.B) {
	be := newBackend(b, named("hello from the bench backend\n"))
	clients := map[string]http.RoundTripper{
		"transport": &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64},
		"fast":      testClient(be.URL.Host, time.Minute),
	}
	for _, name := range []string{"transport", "fast"} {
		rt := clients[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			r0, cpu0 := processReads(), edgetest.ProcessCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, be.Server.URL+"/", nil)
					res, err := rt.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			})
			if r0 >= 0 {
				b.ReportMetric(float64(processReads()-r0)/float64(b.N), "reads/op")
			}
			b.ReportMetric(float64(edgetest.ProcessCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		})
	}
}

// TestH1ClientDropsOlderIdle: when the most recently used idle connection turns out
// closed by the upstream, the ones idle for longer are dropped too and the request goes
// to a fresh connection.
func TestH1ClientDropsOlderIdle(t *testing.T) {
	var n atomic.Int64
	closedOld := make(chan struct{}, 3)
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		id := n.Add(1)
		for readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			if id == 3 {
				return // the newest connection: closed by the upstream after one answer
			}
		}
		if id < 3 {
			closedOld <- struct{}{}
		}
	})
	c := testClient(u.addr, 0)
	var open []*http.Response
	for i := 0; i < 3; i++ { // three connections at once, pooled in this order
		res, err := c.RoundTrip(getReq(t, context.Background(), u.addr, "/"))
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, res)
	}
	for _, res := range open {
		io.ReadAll(res.Body)
		res.Body.Close()
	}
	if _, body, err := fetch(t, c, u.addr, "/"); err != nil || body != "ok" {
		t.Fatalf("%q %v", body, err)
	}
	if got := u.accepts.Load(); got != 4 {
		t.Errorf("%d connections accepted, want 4 (the retry on a fresh one)", got)
	}
	for i := 0; i < 2; i++ {
		select {
		case <-closedOld:
		case <-time.After(30 * time.Second):
			t.Fatal("the older idle connections were not closed")
		}
	}
}

// TestH1ClientClosesAfterRelease: a connection whose response is still being read when
// its upstream is released (closeIdle: a swap dropped the route) is closed once the
// response ends, not kept in a pool no one uses again; the upstream sees EOF. Before,
// every swap that released an upstream leaked the connections in flight through it.
func TestH1ClientClosesAfterRelease(t *testing.T) {
	closed := make(chan struct{})
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		for readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
		close(closed)
	})
	c := testClient(u.addr, 0) // idle timeout one minute: only the release can close it
	res, err := c.RoundTrip(getReq(t, context.Background(), u.addr, "/"))
	if err != nil {
		t.Fatal(err)
	}
	c.closeIdle() // released while the response is in flight
	io.ReadAll(res.Body)
	res.Body.Close()
	if n := len(c.idle); n != 0 {
		t.Errorf("%d idle connections after the release, want 0", n)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("connection still open 10s after its upstream was released and its response ended")
	}
}
