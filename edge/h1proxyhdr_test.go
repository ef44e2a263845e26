package edge

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestH1ProxyHeaderHandOffKeepAlive: the proxy hands its response header map to edge's
// loop (HandOffHeader), which keeps it for the connection's next response: on a
// keep-alive connection, each proxied response has its own upstream's headers and none of
// the previous one's, chunked (trailers possible: no hand-off) and known-length alike.
func TestH1ProxyHeaderHandOffKeepAlive(t *testing.T) {
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.URL.Path)
		w.Header().Set("X-Only-"+r.URL.Path[1:], "1")
		if r.URL.Path == "/chunked" {
			w.Header().Set("Trailer", "X-Trail")
			io.WriteString(w, "body")
			w.(http.Flusher).Flush()
			w.Header().Set("X-Trail", "t")
			return
		}
		io.WriteString(w, "body")
	}))
	t.Cleanup(b.Close)
	srv, _ := faultServer(t, mustURL(b.URL), nil)
	c, br := dialShopH1(t, srv.Addr().String())
	paths := []string{"a", "b", "chunked", "c", "chunked", "d"}
	for i, p := range paths {
		io.WriteString(c, "GET /"+p+" HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d (/%s): %v", i, p, err)
		}
		body, err := io.ReadAll(res.Body)
		if err != nil || string(body) != "body" {
			t.Fatalf("request %d (/%s): body %q, %v", i, p, body, err)
		}
		if got := res.Header.Get("X-Path"); got != "/"+p {
			t.Errorf("request %d (/%s): X-Path %q", i, p, got)
		}
		for _, q := range paths {
			if got := res.Header.Get("X-Only-" + q); (got != "") != (q == p) {
				t.Errorf("request %d (/%s): X-Only-%s %q", i, p, q, got)
			}
		}
		if p == "chunked" && res.Trailer.Get("X-Trail") != "t" {
			t.Errorf("request %d (/%s): trailer %v, want X-Trail: t", i, p, res.Trailer)
		}
	}
}

// dialShopH1 opens a TLS connection to addr for shop.example.com speaking HTTP/1.1, closed
// when the test ends, with a 10 s deadline so that a test that waits too long fails.
func dialShopH1(t *testing.T, addr string) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca(t).Pool(),
		ServerName: "shop.example.com", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}
