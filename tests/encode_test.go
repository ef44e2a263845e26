package tests

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// TestAgentEncode runs the agent binary on a config repo whose route declares compress,
// cache_control and cors: a brotli response decodes to the app's body with the declared
// Cache-Control, a preflight is answered at the edge, and a commit turning compression
// off is served uncompressed.
func TestAgentEncode(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("<p>the same paragraph, compressed on the fly by the edge</p>\n"), 400)
	var preflights atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			preflights.Add(1)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	t.Cleanup(app.Close)
	d := newDirRepo(t)
	d.backend = app.URL
	d.write("enc")
	file := filepath.Join(d.repo.Dir, "sites", "enc.cue")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	routes := "\troutes: \"/\": upstreams: [\"" + app.URL + "\"]\n"
	if !bytes.Contains(orig, []byte(routes)) {
		t.Fatalf("sitegen wrote no routes line %q:\n%s", routes, orig)
	}
	declare := func(compress string) []byte {
		return bytes.Replace(orig, []byte(routes), []byte(`	routes: "/": {
		upstreams: ["`+app.URL+`"]
		compress: `+compress+`
		cache_control: "/assets/*": "public, max-age=31536000, immutable"
		cors: {origins: ["https://*.example.test"], methods: ["GET", "PUT"], max_age: "1h"}
	}
`), 1)
	}
	d.repo.Commit("enc compresses", map[string][]byte{"sites/enc.cue": declare("true")})
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--interval", "200ms", "--key-dir", d.keyDir)
	do := func(method, path string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		tr := &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: d.ca.Pool(), ServerName: "enc.example.test"},
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "tcp", p.https)
			},
			ForceAttemptHTTP2: true,
		}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest(method, "https://enc.example.test"+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	resp, raw := do("GET", "/assets/app.html", "Accept-Encoding", "br, gzip")
	if resp.Header.Get("Content-Encoding") != "br" {
		t.Fatalf("Content-Encoding %q; want br", resp.Header.Get("Content-Encoding"))
	}
	if got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(raw))); err != nil || !bytes.Equal(got, body) {
		t.Errorf("brotli body decodes to %d bytes (%v); want the app's %d", len(got), err, len(body))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control %q", cc)
	}
	resp, _ = do("OPTIONS", "/x", "Origin", "https://app.example.test", "Access-Control-Request-Method", "PUT")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.test" ||
		resp.Header.Get("Access-Control-Max-Age") != "3600" || preflights.Load() != 0 {
		t.Errorf("preflight: %d %q max-age %q, %d reached the app; want 204 from the edge", resp.StatusCode,
			resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Access-Control-Max-Age"), preflights.Load())
	}
	if in := p.metric(`edge_compression_input_bytes_total{site="enc"}`); in < float64(len(body)) {
		t.Errorf("edge_compression_input_bytes_total = %v; want at least %d", in, len(body))
	}
	d.repo.Commit("enc stops compressing", map[string][]byte{"sites/enc.cue": declare("false")})
	p.waitFor("the commit without compression", 60*time.Second, func() bool {
		resp, raw := do("GET", "/", "Accept-Encoding", "br")
		return resp.Header.Get("Content-Encoding") == "" && bytes.Equal(raw, body)
	})
}
