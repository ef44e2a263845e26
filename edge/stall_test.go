package edge

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"golang.org/x/net/http2"
)

// TestHTTP3StalledClientReleasesUpstream: an HTTP/3 client that keeps its connection
// alive but stops reading a response (its stream window full) holds the proxy, and the
// upstream request behind it, for Limits.WriteByteTimeout at most: the backend, streaming
// an endless body, sees edge go away, and the connection still serves.
func TestHTTP3StalledClientReleasesUpstream(t *testing.T) {
	srv, gone := startEndless(t)
	client, tr := h3Client(t, srv.HTTP3Addr())
	tr.QUICConfig = &quic.Config{InitialStreamReceiveWindow: 64 << 10, MaxStreamReceiveWindow: 64 << 10}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://endless.test/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // never read
	select {
	case <-gone:
	case <-ctx.Done():
		t.Fatal("the upstream request still runs for a client that stopped reading")
	}
	resp2, err := client.Get("https://endless.test/small")
	if err != nil {
		t.Fatalf("the connection no longer serves: %v", err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusOK {
		t.Fatalf("status %d after the stall", resp2.StatusCode)
	}
}

// startEndless starts a server with a WriteByteTimeout of 300 ms serving endless.test,
// whose backend streams an endless body (and answers /small), and returns the server and
// the channel on which the backend reports that edge stopped taking the body.
func startEndless(t *testing.T) (*Server, <-chan error) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, Limits: Limits{WriteByteTimeout: 300 * time.Millisecond}})
	gone := make(chan error, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/small" {
			w.Write([]byte("small"))
			return
		}
		chunk := make([]byte, 32<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				gone <- err
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(backend.Close)
	st := testSite(t, "endless", "endless.test")
	st.Routes[0].Upstreams = []*url.URL{mustURL(backend.URL)}
	publish(t, srv, 1, st)
	return srv, gone
}

// TestHTTP1StalledClientReleasesUpstream: an HTTP/1.1 client that keeps its TCP
// connection open but stops reading (its socket buffers full) holds the proxy, and the
// upstream request behind it, for Limits.WriteByteTimeout at most: the backend, streaming
// an endless body, sees edge go away.
func TestHTTP1StalledClientReleasesUpstream(t *testing.T) {
	srv, gone := startEndless(t)
	raw, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.(*net.TCPConn).SetReadBuffer(4 << 10)
	c := tls.Client(raw, &tls.Config{ServerName: "endless.test", RootCAs: ca(t).Pool(), NextProtos: []string{"http/1.1"}})
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: endless.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// never read
	select {
	case <-gone:
	case <-time.After(20 * time.Second):
		t.Fatal("the upstream request still runs for a client that stopped reading")
	}
}

// TestHTTP2StalledStreamReleasesUpstream: an HTTP/2 client that reads its connection but
// grants a stream no flow-control credit (SETTINGS_INITIAL_WINDOW_SIZE 0) gets the
// stream reset after Limits.WriteByteTimeout once it stops granting any, and the backend
// behind it, streaming an endless body, sees edge go away; while it grants 16 KiB every
// 100 ms (for 1.2 s, four times the bound) the stream goes on.
func TestHTTP2StalledStreamReleasesUpstream(t *testing.T) {
	srv, gone := startEndless(t)
	h := dialRawH2(t, srv, 0, 1)
	for range 12 { // a slow client: credit now and then
		time.Sleep(100 * time.Millisecond)
		h.grant(16<<10, 1, 0)
	}
	select {
	case f := <-h.reset:
		t.Fatalf("the stream was reset (%v) while the client granted credit", f.ErrCode)
	default:
	}
	select {
	case <-gone:
	case <-time.After(20 * time.Second):
		t.Fatal("the upstream request still runs for a stream the client grants no credit")
	}
	select {
	case f := <-h.reset:
		if f.ErrCode != http2.ErrCodeInternal {
			t.Errorf("stream reset with %v, want INTERNAL_ERROR", f.ErrCode)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the starved stream was not reset")
	}
}
