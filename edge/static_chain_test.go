package edge

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

// TestStaticInTheRouteChain: a static route is wrapped like a proxied one. The encode
// wrapper compresses a text file on the fly but leaves a precompressed sibling as it is
// (already encoded), and the static handler's 404 is the site's error page.
func TestStaticInTheRouteChain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := strings.Repeat("body { color: black; }\n", 200) // text, over the minimum size
	for name, body := range map[string]string{"site.css": big, "app.js": "console.log(1)", "app.js.br": "BR-BYTES"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st := staticSite(t, dir, spaFS())
	st.Routes = st.Routes[:1]
	st.Routes[0].Compress = &site.Compress{Encodings: []string{"gzip"}}
	st.ErrorPages = &site.ErrorPages{Status: map[int]*site.Page{404: {File: "errors/404.html", ContentType: "text/html; charset=utf-8", Body: []byte("SITE 404 PAGE")}}}
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, st)
	c := httpClient(t, srv.Addr(), false)

	resp, body := staticRequest(t, c, "GET", "https://static.example/site.css", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("site.css: Content-Encoding %q; want gzip from the encode wrapper", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != big {
		t.Errorf("site.css decoded differs from the file (%d bytes)", len(plain))
	}

	resp, body = staticRequest(t, c, "GET", "https://static.example/app.js", "Accept-Encoding", "br, gzip")
	if resp.Header.Get("Content-Encoding") != "br" || body != "BR-BYTES" {
		t.Errorf("app.js: %q %q; want the br sibling untouched", resp.Header.Get("Content-Encoding"), body)
	}

	resp, body = staticRequest(t, c, "GET", "https://static.example/missing.html", "Accept-Encoding", "identity")
	if resp.StatusCode != 404 || body != "SITE 404 PAGE" {
		t.Errorf("missing file: %d %q; want 404 with the site's page", resp.StatusCode, body)
	}
}
