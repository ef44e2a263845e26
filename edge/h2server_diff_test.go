package edge

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/edgectl/edge/edge/site"
)

// TestHTTP2ServersAnswerAlike: net/http's HTTP/2 server and edge's fork of it
// (HTTP2ServerEdge) give the same answers, status, header fields, body and trailers, to
// the same requests: static files (small, empty, large, ranges, conditional, HEAD) and
// proxied responses (small, empty, 304, large, trailers, flushed while streaming, a
// declared Content-Length, an error status).
func TestHTTP2ServersAnswerAlike(t *testing.T) {
	t.Parallel()
	backend := diffBackend(t)
	clients := map[HTTP2Server]*http.Client{}
	for _, which := range []HTTP2Server{HTTP2ServerGo, HTTP2ServerEdge} {
		srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, HTTP3: HTTP3Options{Disabled: true},
			Limits: Limits{HTTP2Server: which}})
		st := testSite(t, "diff", "diff.example.com")
		tree := fstest.MapFS{
			"1k.bin":    {Data: bytes.Repeat([]byte("x"), 1024)},
			"4k.txt":    {Data: bytes.Repeat([]byte("4 KiB text "), 372)},
			"4096.bin":  {Data: bytes.Repeat([]byte("y"), 4096)},
			"4097.bin":  {Data: bytes.Repeat([]byte("z"), 4097)},
			"empty.txt": {Data: nil},
			"big.bin":   {Data: bytes.Repeat([]byte("0123456789abcdef"), 20000)},
		}
		st.Routes = []site.Route{{Path: "/s", Static: &site.Static{FS: tree}}, {Path: "/", Upstreams: []*url.URL{backend}}}
		publish(t, srv, 1, st)
		clients[which] = httpClient(t, srv.Addr(), false)
	}
	t.Run("concurrent", func(t *testing.T) { diffConcurrent(t, clients[HTTP2ServerEdge]) })
	for _, tc := range diffRequests() {
		got := map[HTTP2Server]string{}
		for which, c := range clients {
			got[which] = diffAnswer(t, c, tc)
		}
		if got[HTTP2ServerGo] != got[HTTP2ServerEdge] {
			t.Errorf("%s %s:\nGo's server:\n%s\nedge's:\n%s", tc[0], tc[1], got[HTTP2ServerGo], got[HTTP2ServerEdge])
		}
	}
}

// diffRequests are the requests compared: method, path, then header name and value pairs.
func diffRequests() [][]string {
	return [][]string{
		{"GET", "/s/1k.bin"}, {"HEAD", "/s/1k.bin"}, {"GET", "/s/4k.txt"}, {"GET", "/s/empty.txt"},
		{"GET", "/s/4096.bin"}, {"GET", "/s/4097.bin"},
		{"GET", "/s/big.bin"}, {"GET", "/s/big.bin", "Range", "bytes=10-20"},
		{"GET", "/s/1k.bin", "If-Modified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"},
		{"GET", "/s/missing"}, {"GET", "/small"}, {"HEAD", "/small"}, {"GET", "/empty"},
		{"GET", "/notmod"}, {"GET", "/big"}, {"GET", "/trailers"}, {"GET", "/stream"},
		{"GET", "/length"}, {"GET", "/fail"}, {"POST", "/small"},
	}
}

// diffAnswer returns what c got for tc, but for the fields that differ by server
// (Date, Alt-Svc's port).
func diffAnswer(t *testing.T, c *http.Client, tc []string) string {
	t.Helper()
	req, err := http.NewRequest(tc[0], "https://diff.example.com"+tc[1], strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i+1 < len(tc); i += 2 {
		req.Header.Set(tc[i], tc[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d, body %d bytes %x, err %v\n", resp.Proto, resp.StatusCode, len(body), body[:min(len(body), 64)], err)
	if resp.ProtoMajor != 2 {
		t.Errorf("%s %s: not HTTP/2: %s", tc[0], tc[1], resp.Proto)
	}
	for _, h := range []http.Header{resp.Header, resp.Trailer} {
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range h {
				if k != "Date" && k != "Alt-Svc" && !yield(k) {
					return
				}
			}
		})
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %q\n", k, h[k])
		}
		b.WriteString("--\n")
	}
	return b.String()
}

// diffBackend answers each path of diffRequests its own way.
func diffBackend(t *testing.T) *url.URL {
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			io.WriteString(w, "hello, world\n")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/notmod":
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(http.StatusNotModified)
		case "/big":
			w.Write(bytes.Repeat([]byte("big body "), 30000))
		case "/trailers":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body before trailers")
			w.Header().Set("X-Sum", "42")
		case "/stream":
			for i := range 3 {
				fmt.Fprintf(w, "data: %d\n\n", i)
				w.(http.Flusher).Flush()
			}
		case "/length":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "12345")
		default:
			http.Error(w, "no such thing", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(b.Close)
	return mustURL(b.URL)
}

// diffConcurrent has many streams of one connection answered at once by c's server.
func diffConcurrent(t *testing.T, c *http.Client) {
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			path, want := "/s/1k.bin", 1024
			if i%2 == 1 {
				path, want = "/small", len("hello, world\n")
			}
			status, body, _ := get(t, c, "https://diff.example.com"+path)
			if status != 200 || len(body) != want {
				t.Errorf("GET %s: %d, %d bytes; want 200, %d", path, status, len(body), want)
			}
		})
	}
	wg.Wait()
}
