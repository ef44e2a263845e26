package edge

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// corsSite has three CORS routes in front of up: "/api" (exact and wildcard origins,
// credentials), "/pub" (any origin, any header) and "/both" (CORS and compression).
func corsSite(t *testing.T, up string) *Site {
	st := testSite(t, "cors", "cors.example.com")
	st.Routes = []site.Route{
		{Path: "/api", Upstreams: []*url.URL{mustURL(up)}, CORS: &site.CORS{
			Origins: []string{"https://app.example.com", "https://*.example.org", "http://localhost:3000"},
			Methods: []string{"GET", "PUT", "DELETE"}, Headers: []string{"X-Token", "Content-Type"},
			Expose: []string{"X-Request-Id"}, Credentials: true, MaxAge: 10 * time.Minute}},
		{Path: "/pub", Upstreams: []*url.URL{mustURL(up)}, CORS: &site.CORS{Origins: []string{"*"}, Headers: []string{"*"}}},
		{Path: "/both", Upstreams: []*url.URL{mustURL(up)}, Compress: &site.Compress{MinSize: 1},
			CORS: &site.CORS{Origins: []string{"https://app.example.com"}}},
	}
	return st
}

func TestCORS(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Access-Control-Allow-Origin", "*") // the app's own, replaced
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(strings.Repeat(r.Method+" "+r.URL.Path+"\n", 50)))
	}))
	t.Cleanup(up.Close)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, corsSite(t, up.URL))
	c := httpClient(t, srv.Addr(), false)
	do := func(method, path string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, "https://cors.example.com"+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	pre := func(origin, method, headers string) []string {
		h := []string{"Origin", origin, "Access-Control-Request-Method", method}
		if headers != "" {
			h = append(h, "Access-Control-Request-Headers", headers)
		}
		return h
	}
	for _, tc := range []struct {
		name     string
		path     string
		hdr      []string
		code     int
		acao     string
		wantHdrs map[string]string
	}{
		{"preflight exact", "/api/x", pre("https://app.example.com", "PUT", "x-token,content-type"), 204, "https://app.example.com",
			map[string]string{"Access-Control-Allow-Methods": "GET, PUT, DELETE", "Access-Control-Allow-Headers": "X-Token, Content-Type",
				"Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "600"}},
		{"preflight wildcard", "/api/x", pre("https://a.b.example.org", "DELETE", ""), 204, "https://a.b.example.org", nil},
		{"preflight port", "/api/x", pre("http://localhost:3000", "GET", ""), 204, "http://localhost:3000", nil},
		{"preflight bare domain of the wildcard", "/api/x", pre("https://example.org", "GET", ""), 403, "", nil},
		{"preflight lookalike", "/api/x", pre("https://evil-example.org", "GET", ""), 403, "", nil},
		{"preflight suffix trick", "/api/x", pre("https://x.example.org.evil.com", "GET", ""), 403, "", nil},
		{"preflight scheme", "/api/x", pre("http://app.example.com", "GET", ""), 403, "", nil},
		{"preflight wrong port", "/api/x", pre("http://localhost:3001", "GET", ""), 403, "", nil},
		{"preflight method", "/api/x", pre("https://app.example.com", "PATCH", ""), 403, "", nil},
		{"preflight header", "/api/x", pre("https://app.example.com", "PUT", "x-other"), 403, "", nil},
		{"preflight many headers", "/api/x", pre("https://app.example.com", "PUT", strings.Repeat("x-token,", 100)), 403, "", nil},
		{"preflight any origin", "/pub", pre("https://anyone.net", "POST", "x-whatever"), 204, "*",
			map[string]string{"Access-Control-Allow-Headers": "*", "Access-Control-Allow-Credentials": ""}},
		{"actual allowed", "/api/x", []string{"Origin", "https://app.example.com"}, 200, "https://app.example.com",
			map[string]string{"Access-Control-Expose-Headers": "X-Request-Id", "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}},
		{"actual upper-case origin", "/api/x", []string{"Origin", "https://APP.example.com"}, 200, "https://APP.example.com", nil},
		{"actual disallowed", "/api/x", []string{"Origin", "https://evil.com"}, 200, "",
			map[string]string{"Vary": "Origin", "Access-Control-Allow-Credentials": ""}},
		{"actual no origin", "/api/x", nil, 200, "", map[string]string{"Vary": "Origin"}},
		{"actual any origin", "/pub", []string{"Origin", "https://x.net"}, 200, "*", nil},
		{"OPTIONS without request method", "/api/x", []string{"Origin", "https://app.example.com"}, 200, "https://app.example.com", nil},
	} {
		before := hits.Load()
		method := "GET"
		if strings.HasPrefix(tc.name, "preflight") || strings.HasPrefix(tc.name, "OPTIONS") {
			method = "OPTIONS"
		}
		resp := do(method, tc.path, tc.hdr...)
		if resp.StatusCode != tc.code || resp.Header.Get("Access-Control-Allow-Origin") != tc.acao {
			t.Errorf("%s: %d Access-Control-Allow-Origin %q; want %d %q", tc.name, resp.StatusCode,
				resp.Header.Get("Access-Control-Allow-Origin"), tc.code, tc.acao)
		}
		if n := len(resp.Header.Values("Access-Control-Allow-Origin")); n > 1 {
			t.Errorf("%s: %d Access-Control-Allow-Origin headers", tc.name, n)
		}
		for k, v := range tc.wantHdrs {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s %q; want %q", tc.name, k, got, v)
			}
		}
		reached := hits.Load() != before
		if preflight := strings.HasPrefix(tc.name, "preflight"); reached == preflight {
			t.Errorf("%s: reached the upstream: %v; want %v", tc.name, reached, !preflight)
		}
	}
	resp := do("GET", "/both", "Origin", "https://app.example.com", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		strings.Join(resp.Header.Values("Vary"), ", ") != "Accept-Encoding, Origin" {
		t.Errorf("CORS and compression: %q %q %q", resp.Header.Get("Content-Encoding"), resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Values("Vary"))
	}
}

func TestCORSRefusedAtBuild(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	st := testSite(t, "bad", "bad.example.com")
	st.Routes[0].CORS = &site.CORS{Origins: []string{"*"}, Credentials: true}
	if _, err := srv.build(1, "rev", []*Site{st}); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("build with origin * and credentials: %v; want an error about credentials", err)
	}
	st.Routes[0].CORS = nil
	st.Routes[0].CacheControl = []site.CacheRule{{Pattern: "/a/{x}", Value: "no-cache"}}
	if _, err := srv.build(1, "rev", []*Site{st}); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("build with a bad pattern: %v; want an error naming the site", err)
	}
}
