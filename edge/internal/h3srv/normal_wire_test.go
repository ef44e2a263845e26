package h3srv_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// reqInfo is what a handler saw of its request.
type reqInfo struct {
	proto             string
	major, minor      int
	tls               bool
	alpn              string
	remote, host      string
	method, uri       string
	contentLength     int64
	body              []byte
	bodyErr           error
	trailer           http.Header
	trailerBeforeBody http.Header
}

func seeRequest(r *http.Request) reqInfo {
	info := reqInfo{
		proto: r.Proto, major: r.ProtoMajor, minor: r.ProtoMinor, tls: r.TLS != nil,
		remote: r.RemoteAddr, host: r.Host, method: r.Method, uri: r.URL.RequestURI(),
		contentLength: r.ContentLength, trailerBeforeBody: r.Trailer.Clone(),
	}
	if r.TLS != nil {
		info.alpn = r.TLS.NegotiatedProtocol
	}
	info.body, info.bodyErr = io.ReadAll(r.Body)
	info.trailer = r.Trailer.Clone()
	return info
}

func TestWireGet(t *testing.T) {
	seen := make(chan reqInfo, 1)
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- seeRequest(r)
		io.WriteString(w, "hello")
	})})
	req, _ := http.NewRequestWithContext(guardCtx(t), "GET", ts.url("/hello?x=1"), nil)
	resp, err := newH3Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(body) != "hello" || resp.ProtoMajor != 3 {
		t.Fatalf("got %d %q %v (%s), want 200 \"hello\" over HTTP/3", resp.StatusCode, body, err, resp.Proto)
	}
	info := recv(t, seen, "the handler")
	if info.proto != "HTTP/3.0" || info.major != 3 || info.minor != 0 {
		t.Errorf("Proto %q %d.%d, want HTTP/3.0 3.0", info.proto, info.major, info.minor)
	}
	if !info.tls || info.alpn != "h3" {
		t.Errorf("TLS set %v, ALPN %q; want TLS with h3", info.tls, info.alpn)
	}
	if host, _, err := net.SplitHostPort(info.remote); err != nil || host != "127.0.0.1" {
		t.Errorf("RemoteAddr %q, want 127.0.0.1:port", info.remote)
	}
	if info.host != ts.addr || info.method != "GET" || info.uri != "/hello?x=1" {
		t.Errorf("Host %q method %q URI %q, want %q GET /hello?x=1", info.host, info.method, info.uri, ts.addr)
	}
	// 0 when the FIN came with the HEADERS frame, -1 when it came later: quic-go's
	// client may send the FIN in a later packet.
	if info.contentLength != 0 && info.contentLength != -1 {
		t.Errorf("ContentLength %d for a bodiless GET", info.contentLength)
	}
	if len(info.body) != 0 || info.bodyErr != nil {
		t.Errorf("body %q, %v; want empty", info.body, info.bodyErr)
	}
}

// TestWireRawGet checks the response on the wire: one HEADERS frame with :status and a
// content-length the server added, the body in DATA frames, then the FIN.
func TestWireRawGet(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Test", "yes")
		io.WriteString(w, "hello")
	})})
	rc := dialReady(t, ts)
	resp := rc.get(t, ts, "/")
	if string(resp.body) != "hello" || resp.header.Get("x-test") != "yes" {
		t.Errorf("body %q x-test %q, want hello yes", resp.body, resp.header.Get("x-test"))
	}
	if cl := resp.header.Get("content-length"); cl != "5" {
		t.Errorf("content-length %q, want 5 (a small unflushed body)", cl)
	}
	for _, name := range resp.names {
		if name != strings.ToLower(name) {
			t.Errorf("response field name %q is not lowercase (RFC 9114 4.2)", name)
		}
	}
	if resp.trailer != nil || len(resp.interim) != 0 {
		t.Errorf("unexpected trailers %v or 1xx %v", resp.trailer, resp.interim)
	}
}

func TestWirePostEcho(t *testing.T) {
	seenCL := make(chan int64, 1)
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenCL <- r.ContentLength
		io.Copy(w, r.Body)
	})})
	client := newH3Client(t)
	payload := make([]byte, 1<<20)
	rand.Read(payload)
	for _, tc := range []struct {
		name   string
		body   io.Reader
		wantCL int64
	}{
		{"known length", bytes.NewReader(payload), int64(len(payload))},
		{"unknown length", io.MultiReader(bytes.NewReader(payload)), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(guardCtx(t), "POST", ts.url("/echo"), tc.body)
			if tc.wantCL < 0 {
				req.ContentLength = -1
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("echo: %d bytes, equal %v, err %v", len(got), bytes.Equal(got, payload), err)
			}
			if cl := recv(t, seenCL, "the handler"); cl != tc.wantCL {
				t.Errorf("handler's ContentLength %d, want %d", cl, tc.wantCL)
			}
		})
	}
}

func TestWireHead(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a body HEAD must not carry")
	})})
	req, _ := http.NewRequestWithContext(guardCtx(t), "HEAD", ts.url("/"), nil)
	resp, err := newH3Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != 0 || err != nil {
		t.Errorf("HEAD: %d, body %q, %v; want 200 without body", resp.StatusCode, body, err)
	}
	raw := dialReady(t, ts).roundTrip(t, reqFields(ts, "HEAD", "/"))
	if raw.status != 200 || raw.dataFrames != 0 {
		t.Errorf("raw HEAD: status %d, %d DATA frames (frames %v); want 200 and none", raw.status, raw.dataFrames, raw.frameTypes)
	}
}

func TestWireRequestTrailers(t *testing.T) {
	seen := make(chan reqInfo, 1)
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- seeRequest(r)
	})})
	req, _ := http.NewRequestWithContext(guardCtx(t), "POST", ts.url("/"), strings.NewReader("body"))
	req.Trailer = http.Header{"X-Req-Sum": {"abc"}}
	resp, err := newH3Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	info := recv(t, seen, "the handler")
	if string(info.body) != "body" || info.bodyErr != nil {
		t.Errorf("body %q, %v", info.body, info.bodyErr)
	}
	if got := info.trailer.Get("X-Req-Sum"); got != "abc" {
		t.Errorf("trailer after EOF %q (all %v), want abc", got, info.trailer)
	}
	if got := info.trailerBeforeBody.Get("X-Req-Sum"); got != "" {
		t.Errorf("trailer value %q visible before the body was read", got)
	}
}

func TestWireResponseTrailers(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	})})
	req, _ := http.NewRequestWithContext(guardCtx(t), "GET", ts.url("/"), nil)
	resp, err := newH3Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "body" || err != nil {
		t.Fatalf("body %q, %v", body, err)
	}
	if resp.Trailer.Get("X-Sum") != "42" || resp.Trailer.Get("X-Late") != "late" {
		t.Errorf("trailers %v, want X-Sum 42 and X-Late late", resp.Trailer)
	}
	raw := dialReady(t, ts).get(t, ts, "/")
	if raw.trailer.Get("x-sum") != "42" || raw.trailer.Get("x-late") != "late" || raw.header.Get("x-sum") != "" {
		t.Errorf("raw: header %v trailer %v", raw.header, raw.trailer)
	}
}

func TestWireFlushStreams(t *testing.T) {
	next := make(chan struct{})
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		select {
		case <-next:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "second")
		http.NewResponseController(w).Flush()
	})})
	req, _ := http.NewRequestWithContext(guardCtx(t), "GET", ts.url("/"), nil)
	resp, err := newH3Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, len("first"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first" {
		t.Fatalf("first chunk %q, %v (was it flushed?)", first, err)
	}
	close(next)
	rest, err := io.ReadAll(resp.Body)
	if string(rest) != "second" || err != nil {
		t.Errorf("rest %q, %v; want second", rest, err)
	}
	if resp.ContentLength != -1 {
		t.Errorf("ContentLength %d on a flushed response, want -1", resp.ContentLength)
	}
}

func TestWireInformational(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok")
	})})
	resp := dialReady(t, ts).get(t, ts, "/")
	if len(resp.interim) != 1 || resp.interim[0] != 103 || resp.interimHdr[0].Get("link") == "" {
		t.Errorf("1xx %v %v, want one 103 with link", resp.interim, resp.interimHdr)
	}
	if string(resp.body) != "ok" {
		t.Errorf("body %q", resp.body)
	}
}

// TestWireConcurrent holds n handlers until all n run at once on one connection.
func TestWireConcurrent(t *testing.T) {
	const n = 32
	var running atomic.Int32
	all := make(chan struct{})
	var remotes sync.Map
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remotes.Store(r.RemoteAddr, true)
		if running.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, r.URL.Path)
	})})
	client := newH3Client(t)
	ctx := guardCtx(t)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			path := fmt.Sprintf("/r%d", i)
			req, _ := http.NewRequestWithContext(ctx, "GET", ts.url(path), nil)
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && string(body) != path {
				err = fmt.Errorf("%s: body %q", path, body)
			}
			errs <- err
		}()
	}
	for range n {
		if err := recv(t, errs, "a response"); err != nil {
			t.Error(err)
		}
	}
	count := 0
	remotes.Range(func(any, any) bool { count++; return true })
	if count != 1 {
		t.Errorf("requests came from %d remote addresses, want one connection", count)
	}
}
