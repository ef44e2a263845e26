package h3srv_test

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// TestWireBodyReadLeftRunning: a handler that returns while a goroutine of its is blocked
// in Body.Read (net/http's Transport writing a request body when the upstream answered
// early) still gets its response's FIN out: the stream's end stops the read. (The sleep
// only makes it likely that the read is blocked when the handler returns.)
func TestWireBodyReadLeftRunning(t *testing.T) {
	started := make(chan struct{})
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		go func() {
			var b [1]byte
			r.Body.Read(b[:]) // the "x"
			close(started)
			io.Copy(io.Discard, r.Body) // blocks: client sends nothing more
		}()
		<-started
		time.Sleep(50 * time.Millisecond) // let it block in Read
		io.WriteString(w, "ok")
	})})
	rc := dialReady(t, ts)
	str := rc.openRequest(t, append(headersFrame(reqFields(ts, "POST", "/")...), dataFrame([]byte("x"))...), false)
	str.SetReadDeadline(time.Now().Add(20 * time.Second)) // a guard: without the fix, never
	resp, err := readResponse(str)
	if err != nil {
		t.Fatalf("response not completed: %v (status %d)", err, resp.status)
	}
}

// TestWireBodyCloseDuringRead: Body.Close (as net/http's Transport calls it from its own
// goroutine on an error) returns while another goroutine is blocked in Body.Read.
func TestWireBodyCloseDuringRead(t *testing.T) {
	closed := make(chan time.Duration, 1)
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := make(chan struct{})
		go func() {
			var b [1]byte
			r.Body.Read(b[:])
			close(started)
			io.Copy(io.Discard, r.Body)
		}()
		<-started
		time.Sleep(50 * time.Millisecond)
		done := make(chan struct{})
		t0 := time.Now()
		go func() { r.Body.Close(); close(done) }()
		select {
		case <-done:
			closed <- time.Since(t0)
		case <-time.After(20 * time.Second): // a guard: without the fix, never
			closed <- -1
		}
		io.WriteString(w, "ok")
	})})
	rc := dialReady(t, ts)
	str := rc.openRequest(t, append(headersFrame(reqFields(ts, "POST", "/")...), dataFrame([]byte("x"))...), false)
	if d := recv(t, closed, "close"); d < 0 {
		t.Errorf("Body.Close blocked while another goroutine was in Body.Read")
	}
	str.CancelRead(0x10c)
	str.CancelWrite(0x10c)
}

// TestWireReadDeadlineLetsHandlerAnswer: a read deadline (http.ResponseController) that
// expires fails the handler's read without resetting the stream: it answers 408 (edge's
// proxy does, for a body that stalls), as with net/http or quic-go's http3.
func TestWireReadDeadlineLetsHandlerAnswer(t *testing.T) {
	gotErr := make(chan error, 1)
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := io.ReadAll(r.Body)
		gotErr <- err
		w.WriteHeader(http.StatusRequestTimeout)
	})})
	rc := dialReady(t, ts)
	str := rc.openRequest(t, headersFrame(reqFields(ts, "POST", "/")...), false)
	t.Logf("handler's read error: %v", recv(t, gotErr, "read"))
	resp, err := readResponse(str)
	if err != nil || resp.status != 408 {
		t.Errorf("got %v (status %d), want a 408 response", err, resp.status)
	}
}

// TestWireSniffLargeFirstWrite: Content-Type is sniffed from the first write whatever its
// size, as net/http does (a proxy copies 32 KiB at a time, more than the buffer).
func TestWireSniffLargeFirstWrite(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<!DOCTYPE html><html>" + strings.Repeat("x", 20<<10)))
	})})
	rc := dialReady(t, ts)
	resp := rc.get(t, ts, "/")
	if ct := resp.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/html; charset=utf-8 (net/http)", ct)
	}
}

// TestWireAuthorityValidated: an :authority with CR, LF, NUL or userinfo is a malformed
// request (quic-go and x/net/http2 refuse it too): no handler sees it as Host.
func TestWireAuthorityValidated(t *testing.T) {
	host := make(chan string, 1)
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host <- r.Host
	})})
	rc := dialReady(t, ts)
	str := rc.openRequest(t, headersFrame(hf(":method", "GET"), hf(":scheme", "https"), hf(":authority", "a\r\nx-evil: 1\x00 @b"), hf(":path", "/")), true)
	resp, err := readResponse(str)
	select {
	case h := <-host:
		t.Errorf("handler ran with Host %q (status %d), want H3_MESSAGE_ERROR", h, resp.status)
	default:
		t.Logf("refused: %v", err)
	}
}

// TestWireHeaderSnapshotAtWriteHeader: header changes after WriteHeader are not sent, as
// net/http takes the header at WriteHeader.
func TestWireHeaderSnapshotAtWriteHeader(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.Header().Set("X-Late", "1")
		w.Write([]byte("hi"))
	})})
	rc := dialReady(t, ts)
	resp := rc.get(t, ts, "/")
	if v := resp.header.Get("X-Late"); v != "" {
		t.Errorf("X-Late %q sent; net/http ignores header changes after WriteHeader", v)
	}
}

// TestWireForbiddenRequestTrailer: trailer fields net/http's HTTP/2 server and quic-go
// refuse (httpguts.ValidTrailerHeader) never reach the handler.
func TestWireForbiddenRequestTrailer(t *testing.T) {
	tr := make(chan http.Header, 1)
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		tr <- r.Trailer
	})})
	rc := dialReady(t, ts)
	data := append(headersFrame(reqFields(ts, "POST", "/")...), dataFrame([]byte("abc"))...)
	data = append(data, headersFrame(hf("content-length", "99"), hf("host", "evil"), hf("authorization", "x"))...)
	str := rc.openRequest(t, data, true)
	readResponse(str)
	if h := recv(t, tr, "trailer"); h != nil {
		t.Errorf("handler got trailers %v; x/net/http2 and quic-go refuse these names", h)
	}
}

// TestWireDeclaredHeadersNotPreallocated: HEADERS frames that declare nearly the limit
// and send nothing more do not make the server allocate what they declare (90 streams x
// 1 MiB): the block grows as its bytes arrive.
func TestWireDeclaredHeadersNotPreallocated(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})})
	rc := dialReady(t, ts)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 90; i++ {
		hdr := append(varint(frameHeaders), varint(1<<20-1)...) // 5 bytes on the wire
		rc.openRequest(t, hdr, false)
	}
	time.Sleep(500 * time.Millisecond)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := (int64(after.HeapInuse) - int64(before.HeapInuse)) >> 20
	t.Logf("heap in use grew by %d MiB for 90 streams x 5 bytes", grew)
	if grew > 32 {
		t.Errorf("heap grew by %d MiB for 90 HEADERS frames of 5 bytes each", grew)
	}
}

// TestWireManyCookies: 24,000 cookie fields become one Cookie header joined with "; "
// (RFC 9114 section 4.2.1), joined once rather than field by field (quadratic).
func TestWireManyCookies(t *testing.T) {
	done := make(chan int, 1)
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done <- len(r.Header.Get("Cookie"))
	})})
	rc := dialReady(t, ts)
	block := []byte{0, 0}
	for _, f := range reqFields(ts, "GET", "/") {
		block = append(block, qpackBlock(f)[2:]...)
	}
	n := 0
	for n < 24000 {
		block = append(block, 0x55, 1, 'a') // literal, static name ref 5 (cookie), value "a"
		n++
	}
	t0 := time.Now()
	str := rc.openRequest(t, frame(frameHeaders, block), true)
	l := recv(t, done, "handler")
	t.Logf("%d cookie fields (%d KiB on the wire): joined %d bytes in %v", n, len(block)>>10, l, time.Since(t0))
	if want := n + 2*(n-1); l != want {
		t.Errorf("Cookie header of %d bytes; want %d", l, want)
	}
	readResponse(str)
}

// TestWirePathSubDelims: a path with sub-delimiters reaches the handler as sent
// (url.ParseRequestURI keeps them in RawPath; the proxy sends EscapedPath upstream).
func TestWirePathSubDelims(t *testing.T) {
	got := make(chan string, 1)
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.RequestURI()
	})})
	rc := dialReady(t, ts)
	const p = "/wiki/Foo_(bar)!*'[x]"
	rc.get(t, ts, p)
	if u := recv(t, got, "uri"); u != p {
		t.Errorf("r.URL.RequestURI() = %q, want %q (url.ParseRequestURI, net/http)", u, p)
	}
}

// TestWire204WithoutContentLength: no Content-Length in a 204 (RFC 9110 section 8.6), as
// net/http and edge's HTTP/1.1 loop drop it.
func TestWire204WithoutContentLength(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
	})})
	rc := dialReady(t, ts)
	resp := rc.roundTrip(t, reqFields(ts, "GET", "/"))
	if v, ok := resp.header["Content-Length"]; ok {
		t.Errorf("204 with Content-Length %q", v)
	}
}
