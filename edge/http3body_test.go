package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// seenBackend answers every request with what it received of the request's framing and
// body, in the X-Seen header (HEAD has no body).
func seenBackend(t testing.TB) *httptest.Server {
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", fmt.Sprintf("%s cl=%d te=%q content-length=%q body=%q err=%v",
			r.Method, r.ContentLength, r.TransferEncoding, r.Header["Content-Length"], body, err))
	}))
	t.Cleanup(b.Close)
	return b
}

// TestHTTP3RequestBodyAsHTTP2 is differential: the upstream receives the same request
// framing and body through HTTP/3 as through HTTP/2, for requests without a body (whose
// emptiness HTTP/3 learns from the stream's end: see h3srv's stream.prepare), with a body of
// known length and with one of unknown length.
func TestHTTP3RequestBodyAsHTTP2(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	st := testSite(t, "a", "a.example.com")
	st.Routes[0].Upstreams = []*url.URL{mustURL(seenBackend(t).URL)}
	publish(t, srv, 1, st)
	h3, _ := h3Client(t, srv.HTTP3Addr())
	h2 := httpClient(t, srv.Addr(), false)
	for _, tc := range []struct {
		method string
		body   func() io.Reader
	}{
		// Not PURGE without a body: if its stream's end reaches the edge after the
		// handler starts, ReverseProxy forwards it with an empty chunked body (HTTP/2:
		// none); h3srv makes that rare, it cannot make it never.
		{"GET", nil}, {"HEAD", nil}, {"OPTIONS", nil}, {"DELETE", nil}, {"POST", nil}, {"PUT", nil},
		{"POST", func() io.Reader { return strings.NewReader("known length") }},
		{"POST", func() io.Reader { return io.MultiReader(strings.NewReader("unknown length")) }},
		{"GET", func() io.Reader { return io.MultiReader(strings.NewReader("a GET's body")) }},
	} {
		seen := map[string]string{}
		for name, c := range map[string]*http.Client{"h3": h3, "h2": h2} {
			var body io.Reader
			if tc.body != nil {
				body = tc.body()
			}
			req, err := http.NewRequest(tc.method, "https://a.example.com/x", body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", name, tc.method, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s %s: status %d", name, tc.method, resp.StatusCode)
			}
			seen[name] = resp.Header.Get("X-Seen")
		}
		if seen["h3"] != seen["h2"] || seen["h3"] == "" {
			t.Errorf("%s (body %v): upstream saw\n h3: %s\n h2: %s", tc.method, tc.body != nil, seen["h3"], seen["h2"])
		}
	}
}

// TestHTTP3BodilessRequestKnownEmpty: quic-go's client ends a bodiless request's stream
// with its HEADERS frame, and the edge then knows the body is empty (h3srv): a
// PURGE reaches the upstream without the empty chunked body an unknown length gets. The
// stream's end may come in a later packet than the HEADERS, so one of 20 is enough.
func TestHTTP3BodilessRequestKnownEmpty(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	st := testSite(t, "a", "a.example.com")
	st.Routes[0].Upstreams = []*url.URL{mustURL(seenBackend(t).URL)}
	publish(t, srv, 1, st)
	h3, _ := h3Client(t, srv.HTTP3Addr())
	const want = `PURGE cl=0 te=[] content-length=[] body="" err=<nil>`
	var seen []string
	for range 20 {
		req, _ := http.NewRequest("PURGE", "https://a.example.com/", nil)
		resp, err := h3.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Seen")
		if got == want {
			return
		}
		seen = append(seen, got)
	}
	t.Errorf("no bodiless PURGE over HTTP/3 was forwarded as %s; the upstream saw %q", want, seen)
}
