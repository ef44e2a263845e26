package edge

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/tests/testenv"
)

// TestCompressSSE: an event stream is compressed (or not) and flushed event by event: the
// client reads the first event while the upstream still holds the stream open, waiting
// for the test to let it go on.
func TestCompressSSE(t *testing.T) {
	t.Parallel()
	release := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		case <-time.After(30 * time.Second): // backstop: the test failed already
		}
		_, _ = io.WriteString(w, "data: second\n\n")
	}))
	t.Cleanup(up.Close)
	sseThroughEdge(t, up.URL, func() { release <- struct{}{} })
}

// sseThroughEdge serves the event stream of the app at upURL through an edge route that
// compresses text/event-stream, and checks for each coding, over h2 and HTTP/1.1, that the
// first event arrives before release lets the app send the second and end the stream.
func sseThroughEdge(t *testing.T, upURL string, release func()) {
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	st := testSite(t, "sse", "sse.example.com")
	st.Routes = []site.Route{{Path: "/", Upstreams: []*url.URL{mustURL(upURL)}, Compress: &site.Compress{Types: []string{"text/event-stream"}}}}
	publish(t, srv, 1, st)
	for _, h1 := range []bool{false, true} {
		c := httpClient(t, srv.Addr(), h1)
		for _, coding := range []string{"zstd", "br", "gzip", "identity"} {
			req, _ := http.NewRequest("GET", "https://sse.example.com/events", nil)
			req.Header.Set("Accept-Encoding", coding)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSuffix(coding, "identity")
			if got := resp.Header.Get("Content-Encoding"); got != want {
				t.Errorf("h1=%v %s: Content-Encoding %q", h1, coding, got)
			}
			lines := bufio.NewReader(streamDecoder(t, want, resp.Body))
			first := make(chan string, 1)
			go func() {
				l, _ := lines.ReadString('\n')
				first <- l
			}()
			select {
			case l := <-first:
				if l != "data: first\n" {
					t.Errorf("h1=%v %s: first line %q", h1, coding, l)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("h1=%v %s: the first event did not arrive while the upstream held the stream open", h1, coding)
			}
			release()
			rest, err := io.ReadAll(lines)
			if err != nil || string(rest) != "\ndata: second\n\n" {
				t.Errorf("h1=%v %s: rest %q, %v", h1, coding, rest, err)
			}
			resp.Body.Close()
		}
	}
}

// sseNodeApp is a Node.js app sending one event, then, once /release is asked for, a
// second one, and ending the stream: res.write with no explicit flush, as apps do.
const sseNodeApp = `
const http = require('http');
const waiting = [];
const srv = http.createServer((req, res) => {
  if (req.url === '/release') {
    for (const r of waiting.splice(0)) { r.write('data: second\n\n'); r.end(); }
    res.end('released');
    return;
  }
  res.writeHead(200, {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'});
  res.write('data: first\n\n');
  waiting.push(res);
});
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`

// TestCompressSSENode: the same with a real Node.js app.
func TestCompressSSENode(t *testing.T) {
	t.Parallel()
	node := testenv.NeedTool(t, "node", "nodejs")
	cmd := exec.Command(node, "-e", sseNodeApp)
	out := &testenv.SyncBuffer{}
	exited := testenv.StartProcess(t, "node", cmd, out)
	var port string
	for deadline := time.Now().Add(20 * time.Second); port == ""; {
		select {
		case <-exited:
			t.Fatalf("node exited: %s", out.String())
		default:
		}
		if l, ok := strings.CutSuffix(out.String(), "\n"); ok {
			port = l
		} else if time.Now().After(deadline) {
			t.Fatal("node printed no port")
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	app := "http://127.0.0.1:" + port
	sseThroughEdge(t, app, func() {
		resp, err := http.Get(app + "/release")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
}

// streamDecoder returns a reader decoding body as coding as it arrives.
func streamDecoder(t *testing.T, coding string, body io.Reader) io.Reader {
	t.Helper()
	switch coding {
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		return zr
	case "br":
		return brotli.NewReader(body)
	case "zstd":
		zr, err := zstd.NewReader(body, zstd.WithDecoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(zr.Close)
		return zr
	}
	return body
}

// TestCompressFlushedHeld: a response of unknown length flushed before the minimum size
// is compressed from there on, its first bytes delivered at the flush.
func TestCompressFlushedHeld(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = io.WriteString(w, "{\"n\":1}\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write(bytes.Repeat([]byte("{\"n\":2}\n"), 1000))
	}))
	t.Cleanup(up.Close)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	st := testSite(t, "nd", "nd.example.com")
	st.Routes = []site.Route{{Path: "/", Upstreams: []*url.URL{mustURL(up.URL)}, Compress: &site.Compress{}}}
	publish(t, srv, 1, st)
	c := httpClient(t, srv.Addr(), false)
	req, _ := http.NewRequest("GET", "https://nd.example.com/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q; want gzip", resp.Header.Get("Content-Encoding"))
	}
	lines := bufio.NewReader(streamDecoder(t, "gzip", resp.Body))
	l, err := lines.ReadString('\n')
	close(release)
	if l != "{\"n\":1}\n" {
		t.Fatalf("first line %q, %v", l, err)
	}
	rest, err := io.ReadAll(lines)
	if err != nil || len(rest) != 8000 {
		t.Errorf("rest: %d bytes, %v", len(rest), err)
	}
}

// TestCompressEncoderBound: with every encoder taken (by an open compressed stream), a
// response goes uncompressed, and compressed again once the stream ended. Not parallel: it
// lowers maxEncoders.
func TestCompressEncoderBound(t *testing.T) {
	defer func(n int64) { maxEncoders = n }(maxEncoders)
	maxEncoders = 1
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Path == "/hold" {
			_, _ = w.Write(bytes.Repeat([]byte("x"), 2000))
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = w.Write(bytes.Repeat([]byte("y"), 2000))
	}))
	t.Cleanup(up.Close)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	st := testSite(t, "bound", "bound.example.com")
	st.Routes = []site.Route{{Path: "/", Upstreams: []*url.URL{mustURL(up.URL)}, Compress: &site.Compress{}}}
	publish(t, srv, 1, st)
	c := httpClient(t, srv.Addr(), false)
	req, _ := http.NewRequest("GET", "https://bound.example.com/hold", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	held, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if held.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("held stream: Content-Encoding %q; want gzip", held.Header.Get("Content-Encoding"))
	}
	_, body, resp := get(t, c, "https://bound.example.com/other", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "" || len(body) != 2000 || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("no encoder free: Content-Encoding %q, %d bytes, Vary %q; want identity, 2000, Accept-Encoding",
			resp.Header.Get("Content-Encoding"), len(body), resp.Header.Get("Vary"))
	}
	close(release)
	if _, err := io.ReadAll(held.Body); err != nil {
		t.Fatal(err)
	}
	held.Body.Close()
	// The handler gives its encoder back after the last byte: poll, with a backstop.
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, _, resp = get(t, c, "https://bound.example.com/other", "Accept-Encoding", "gzip")
		if resp.Header.Get("Content-Encoding") == "gzip" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the encoder of the ended stream was not given back")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEncodeWriterController: through the encode and CORS wrappers, a handler (the static
// file handler, say) still reaches the connection with http.ResponseController: flush,
// write deadline, full duplex.
func TestEncodeWriterController(t *testing.T) {
	t.Parallel()
	errs := make(chan error, 3)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/plain")
		errs <- rc.SetWriteDeadline(time.Now().Add(time.Minute))
		_, _ = w.Write([]byte("first\n"))
		errs <- rc.Flush()
		errs <- rc.EnableFullDuplex()
	})
	rt := &site.Route{Compress: &site.Compress{}, CORS: &site.CORS{Origins: []string{"*"}}}
	h, err := wrapEncode(inner, rt, nil)
	if err == nil {
		h, err = wrapCORS(h, rt)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := unwrapHandler(h).(http.HandlerFunc); !ok {
		t.Error("unwrapHandler does not reach the inner handler")
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for i := 0; i < 3; i++ {
		if err := <-errs; err != nil {
			t.Errorf("ResponseController call %d: %v", i, err)
		}
	}
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("Content-Encoding %q; want gzip (flushed, so compressed)", resp.Header.Get("Content-Encoding"))
	}
}

// TestCompressHTTP3: over HTTP/3 too, each coding decodes to the body, whether its length
// is known or not.
func TestCompressHTTP3(t *testing.T) {
	t.Parallel()
	up := encodeUpstream(t)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, encodeSite(t, up.URL))
	c, _ := h3Client(t, srv.HTTP3Addr())
	want := textBody(20 << 10)
	for _, coding := range []string{"zstd", "br", "gzip"} {
		for _, path := range []string{"/text", "/text?chunked=1"} {
			code, body, resp := get(t, c, "https://enc.example.com"+path, "Accept-Encoding", coding)
			if code != 200 || resp.ProtoMajor != 3 || resp.Header.Get("Content-Encoding") != coding {
				t.Fatalf("h3 %s %s: %d %s Content-Encoding %q", coding, path, code, resp.Proto, resp.Header.Get("Content-Encoding"))
			}
			if got := decode(t, coding, []byte(body)); !bytes.Equal(got, want) {
				t.Errorf("h3 %s %s: decoded %d bytes differ from the %d sent", coding, path, len(got), len(want))
			}
		}
	}
}
