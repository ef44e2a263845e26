package edge

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/edgectl/edge/edge/site"
)

// textBody returns n bytes of compressible text.
func textBody(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %d of a compressible body, the same words again and again\n", i)
	}
	return b.Bytes()[:n]
}

// encodeUpstream is the app behind the compression tests: each path answers a kind of
// response the edge must compress or leave alone.
func encodeUpstream(t *testing.T) *httptest.Server {
	body := textBody(20 << 10)
	mux := http.NewServeMux()
	typed := func(ct string, extra ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			for i := 0; i+1 < len(extra); i += 2 {
				w.Header().Set(extra[i], extra[i+1])
			}
			n := len(body)
			if s := r.URL.Query().Get("n"); s != "" {
				n, _ = strconv.Atoi(s)
			}
			if r.URL.Query().Get("chunked") == "" {
				w.Header().Set("Content-Length", strconv.Itoa(n))
			}
			_, _ = w.Write(body[:n])
		}
	}
	mux.Handle("/text", typed("text/plain; charset=utf-8"))
	mux.Handle("/json", typed("application/vnd.api+json"))
	mux.Handle("/png", typed("image/png"))
	mux.Handle("/notransform", typed("text/html", "Cache-Control", "public, no-transform"))
	mux.Handle("/etag", typed("text/css", "Etag", `"v1"`))
	mux.Handle("/assets/app.js", typed("text/javascript", "Cache-Control", "no-store"))
	mux.Handle("/assets/keep.js", typed("text/javascript", "Cache-Control", "no-transform"))
	mux.HandleFunc("/encoded", func(w http.ResponseWriter, r *http.Request) {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write(body)
		_ = zw.Close()
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(gz.Bytes())
	})
	mux.HandleFunc("/range", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		http.ServeContent(w, r, "r.txt", time.Unix(1e9, 0), bytes.NewReader(body))
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/status/"), ".txt"))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		if code != http.StatusNoContent && code != http.StatusNotModified {
			_, _ = w.Write(body)
		}
	})
	up := httptest.NewServer(mux)
	t.Cleanup(up.Close)
	return up
}

// encodeSite is a site whose "/" route proxies to up with compression and Cache-Control
// rules, and whose "/raw" route has neither.
func encodeSite(t *testing.T, up string) *Site {
	st := testSite(t, "enc", "enc.example.com")
	st.Routes = []site.Route{
		{Path: "/", Upstreams: []*url.URL{mustURL(up)}, Compress: &site.Compress{},
			CacheControl: []site.CacheRule{{Pattern: "/assets/*", Value: "public, max-age=31536000, immutable"}, {Pattern: "*.txt", Value: "no-cache"}}},
		{Path: "/raw", Upstreams: []*url.URL{mustURL(up)}, StripPrefix: true},
	}
	return st
}

// decode decodes body as coding with the reference decoders.
func decode(t *testing.T, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer zr.Close()
		r = zr
	case "":
		return body
	default:
		t.Fatalf("unknown coding %q", coding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", coding, err)
	}
	return out
}

func TestCompressEncodings(t *testing.T) {
	t.Parallel()
	up := encodeUpstream(t)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, encodeSite(t, up.URL))
	want := textBody(20 << 10)
	for _, h1 := range []bool{false, true} {
		c := httpClient(t, srv.Addr(), h1)
		for _, tc := range []struct{ ae, want string }{
			{"gzip, deflate, br, zstd", "zstd"}, {"br", "br"}, {"gzip", "gzip"},
			{"br;q=0.5, gzip;q=1", "gzip"}, {"zstd;q=0, br;q=0, *;q=0.3", "gzip"}, {"identity", ""},
		} {
			for _, path := range []string{"/text", "/text?chunked=1", "/json"} {
				code, body, resp := get(t, c, "https://enc.example.com"+path, "Accept-Encoding", tc.ae)
				label := fmt.Sprintf("h1=%v %s Accept-Encoding %q", h1, path, tc.ae)
				if code != 200 || resp.Header.Get("Content-Encoding") != tc.want {
					t.Errorf("%s: %d Content-Encoding %q; want 200 %q", label, code, resp.Header.Get("Content-Encoding"), tc.want)
					continue
				}
				if got := decode(t, tc.want, []byte(body)); !bytes.Equal(got, want) {
					t.Errorf("%s: decoded %d bytes differ from the %d sent", label, len(got), len(want))
				}
				if tc.want != "" && (resp.ContentLength >= 0 && resp.ContentLength != int64(len(body)) || len(body) >= len(want)/4) {
					t.Errorf("%s: Content-Length %d, %d bytes on the wire for %d", label, resp.ContentLength, len(body), len(want))
				}
				if v := resp.Header.Values("Vary"); len(v) != 1 || v[0] != "Accept-Encoding" {
					t.Errorf("%s: Vary %q; want [Accept-Encoding]", label, v)
				}
			}
		}
	}
}

// TestCompressMetrics: the site's counters hold what was compressed and what it became.
func TestCompressMetrics(t *testing.T) {
	t.Parallel()
	up := encodeUpstream(t)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, encodeSite(t, up.URL))
	c := httpClient(t, srv.Addr(), false)
	for range 3 {
		get(t, c, "https://enc.example.com/text", "Accept-Encoding", "gzip")
	}
	s := srv.metrics.compress.site("enc")
	if in, out := s.in.Load(), s.out.Load(); in != 3*20<<10 || out == 0 || out > in/4 {
		t.Errorf("compressed %d bytes into %d; want %d into a quarter or less", in, out, 3*20<<10)
	}
	publish(t, srv, 2, testSite(t, "other", "other.example.com"))
	if _, ok := srv.metrics.compress.sites.Load("enc"); ok {
		t.Error("the counters of a removed site are kept")
	}
}

func TestCompressNotWhenNot(t *testing.T) {
	t.Parallel()
	up := encodeUpstream(t)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, encodeSite(t, up.URL))
	c := httpClient(t, srv.Addr(), false)
	for _, tc := range []struct {
		name, path string
		hdr        []string
		wantCode   int
		wantVary   bool
		wantCE     string
	}{
		{"small", "/text?n=1000", nil, 200, true, ""},
		{"small chunked", "/text?n=1000&chunked=1", nil, 200, true, ""},
		{"at the minimum", "/text?n=1024&chunked=1", nil, 200, true, "br"},
		{"image", "/png", nil, 200, false, ""},
		{"already encoded", "/encoded", nil, 200, false, "gzip"},
		{"no-transform", "/notransform", nil, 200, false, ""},
		{"upstream no-transform, rule replaces it", "/assets/keep.js", nil, 200, false, ""},
		{"request no-transform", "/text", []string{"Cache-Control", "no-transform"}, 200, true, ""},
		{"range", "/range", []string{"Range", "bytes=0-99"}, 206, false, ""},
		{"range, 200 anyway", "/text", []string{"Range", "bytes=0-99"}, 200, true, ""},
		{"204", "/status/204", nil, 204, false, ""},
		{"304", "/status/304", nil, 304, false, ""},
		{"404 compressed", "/status/404", nil, 404, true, "br"},
		{"other route", "/raw/text", nil, 200, false, ""},
	} {
		hdr := append([]string{"Accept-Encoding", "br"}, tc.hdr...)
		code, body, resp := get(t, c, "https://enc.example.com"+tc.path, hdr...)
		ce, vary := resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary") == "Accept-Encoding"
		if code != tc.wantCode || ce != tc.wantCE || vary != tc.wantVary {
			t.Errorf("%s: %d Content-Encoding %q Vary %v; want %d %q %v", tc.name, code, ce, vary, tc.wantCode, tc.wantCE, tc.wantVary)
		}
		if ce == "" && code == 200 && resp.ContentLength != int64(len(body)) {
			t.Errorf("%s: Content-Length %d for %d bytes", tc.name, resp.ContentLength, len(body))
		}
	}
	req, _ := http.NewRequest("HEAD", "https://enc.example.com/text", nil)
	req.Header.Set("Accept-Encoding", "br")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("HEAD: Content-Encoding %q Vary %q; want none, Accept-Encoding", resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
	}
}

func TestCompressETagAndCacheControl(t *testing.T) {
	t.Parallel()
	up := encodeUpstream(t)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, encodeSite(t, up.URL))
	c := httpClient(t, srv.Addr(), false)
	_, _, resp := get(t, c, "https://enc.example.com/etag", "Accept-Encoding", "gzip")
	if et := resp.Header.Get("Etag"); resp.Header.Get("Content-Encoding") != "gzip" || et != `W/"v1"` {
		t.Errorf("compressed: ETag %q; want W/\"v1\"", et)
	}
	_, _, resp = get(t, c, "https://enc.example.com/etag", "Accept-Encoding", "identity")
	if et := resp.Header.Get("Etag"); et != `"v1"` {
		t.Errorf("identity: ETag %q; want \"v1\" (strong, untouched)", et)
	}
	for path, want := range map[string]string{
		"/assets/app.js":  "public, max-age=31536000, immutable", // replaces the upstream's no-store
		"/notransform":    "public, no-transform",                // no rule: the upstream's
		"/range":          "",
		"/status/200.txt": "no-cache", // a file-name pattern
		"/status/404":     "",         // errors keep theirs (none)
	} {
		_, _, resp := get(t, c, "https://enc.example.com"+path)
		if got := resp.Header.Get("Cache-Control"); got != want {
			t.Errorf("%s: Cache-Control %q; want %q", path, got, want)
		}
	}
}

// TestCompressHostileAcceptEncoding: a 48 KiB Accept-Encoding field of 10,000 q-values is
// answered (only its first 4 KiB are read: the gzip at its end is not seen).
func TestCompressHostileAcceptEncoding(t *testing.T) {
	t.Parallel()
	up := encodeUpstream(t)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, encodeSite(t, up.URL))
	for _, h1 := range []bool{false, true} {
		c := httpClient(t, srv.Addr(), h1)
		ae := strings.Repeat("x;q=0.5,", 6000) + "gzip"
		code, body, resp := get(t, c, "https://enc.example.com/text", "Accept-Encoding", ae)
		if code != 200 || resp.Header.Get("Content-Encoding") != "" || len(body) != 20<<10 {
			t.Errorf("h1=%v: %d Content-Encoding %q, %d bytes; want 200 identity", h1, code, resp.Header.Get("Content-Encoding"), len(body))
		}
		code, _, resp = get(t, c, "https://enc.example.com/text", "Accept-Encoding", strings.Repeat("br;q=0.001;q=0.002;", 100)+", gzip;q=0.5")
		if code != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("h1=%v: many parameters: %d Content-Encoding %q; want gzip", h1, code, resp.Header.Get("Content-Encoding"))
		}
	}
}
