package edge

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// recordingBackend is an upstream that counts requests and keeps the last one's headers.
type recordingBackend struct {
	mu   sync.Mutex
	hits int
	last http.Header
}

func (b *recordingBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.hits++
	b.last = r.Header.Clone()
	b.mu.Unlock()
	fmt.Fprintf(w, "backend %s %s", r.Method, r.URL.Path)
}

func (b *recordingBackend) seen() (int, http.Header) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits, b.last
}

// startRecordingSite serves shop.example.com from a recordingBackend.
func startRecordingSite(t *testing.T) (*Server, *recordingBackend) {
	t.Helper()
	be := &recordingBackend{}
	ts := httptest.NewServer(be)
	t.Cleanup(ts.Close)
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	site := testSite(t, "shop", "shop.example.com")
	site.Routes[0].Upstreams = []*url.URL{mustURL(ts.URL)}
	publish(t, srv, 1, site)
	return srv, be
}

// waitStatus waits for the response status of stream id on c.
func (c *h2conn) waitStatus(t *testing.T, id uint32) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a failure backstop only
	for time.Now().Before(deadline) {
		if st := c.status(id); st != "" {
			return st
		}
		select {
		case <-c.done:
			t.Fatalf("stream %d: connection closed by the server before a response", id)
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("stream %d: no response", id)
	return ""
}

// TestHTTP2MalformedHeadersRefused: an HTTP/2 request carrying a connection-specific
// header field, or TE other than "trailers", is malformed (RFC 9113 §8.2.2) and never
// reaches an upstream: Go's HTTP/2 server answers it 400 before edge's handler runs (see
// "HTTP/2 conformance" in doc.go). A request with "TE: trailers" is served, on the same
// connection.
func TestHTTP2MalformedHeadersRefused(t *testing.T) {
	srv, be := startRecordingSite(t)
	c := newH2Conn(t, srv)
	id := uint32(1)
	send := func(extra ...hpack.HeaderField) uint32 {
		t.Helper()
		c.wmu.Lock()
		defer c.wmu.Unlock()
		sid := id
		id += 2
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: sid, BlockFragment: c.headers("/x", extra...),
			EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		return sid
	}
	for _, h := range []hpack.HeaderField{
		{Name: "connection", Value: "keep-alive"},
		{Name: "keep-alive", Value: "timeout=5"},
		{Name: "proxy-connection", Value: "keep-alive"},
		{Name: "transfer-encoding", Value: "chunked"},
		{Name: "upgrade", Value: "websocket"},
		{Name: "te", Value: "gzip"},
		{Name: "te", Value: "trailers, deflate"},
	} {
		if st := c.waitStatus(t, send(h)); st != "400" {
			t.Errorf("HTTP/2 request with %s: %s: status %s; want 400", h.Name, h.Value, st)
		}
	}
	if hits, _ := be.seen(); hits != 0 {
		t.Fatalf("the upstream got %d malformed HTTP/2 requests; want none", hits)
	}

	if st := c.waitStatus(t, send(hpack.HeaderField{Name: "te", Value: "trailers"})); st != "200" {
		t.Fatalf(`HTTP/2 request with "te: trailers": status %s; want 200`, st)
	}
	if hits, hdr := be.seen(); hits != 1 || hdr.Get("Te") != "trailers" {
		t.Errorf(`after a "te: trailers" request the upstream has %d requests, last TE %q; want 1 and "trailers"`, hits, hdr.Get("Te"))
	}
	select {
	case <-c.done:
		t.Error("the server closed the connection; refusing a request must not")
	default:
	}
}

// TestHTTP1ConnectionHeadersServed: on HTTP/1.1 Connection, Keep-Alive and TE are legal
// and the request is served (hop-by-hop fields are not forwarded, except TE: trailers).
// WebSocket upgrades over HTTP/1.1 are covered by TestUpgradeAndStreamingThroughEdge.
func TestHTTP1ConnectionHeadersServed(t *testing.T) {
	srv, be := startRecordingSite(t)
	c := httpClient(t, srv.Addr(), true)
	code, body, resp := get(t, c, "https://shop.example.com/x",
		"Connection", "keep-alive, X-Hop", "Keep-Alive", "timeout=5", "X-Hop", "1", "TE", "trailers")
	if code != 200 || resp.Proto != "HTTP/1.1" || body != "backend GET /x" {
		t.Fatalf("HTTP/1.1 with Connection and Keep-Alive: %s %d %q; want HTTP/1.1 200 from the backend", resp.Proto, code, body)
	}
	hits, hdr := be.seen()
	if hits != 1 {
		t.Fatalf("upstream requests: %d; want 1", hits)
	}
	for _, h := range []string{"Keep-Alive", "X-Hop"} {
		if v := hdr.Get(h); v != "" {
			t.Errorf("upstream got hop-by-hop %s: %q; want it removed", h, v)
		}
	}
	if v := hdr.Get("Te"); v != "trailers" {
		t.Errorf("upstream TE %q; want trailers", v)
	}
}
