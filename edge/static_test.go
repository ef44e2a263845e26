package edge

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// staticTree writes the files the static tests serve into a new directory and returns its
// path: pages, a script with precompressed siblings, a binary for ranges, a directory with
// and one without an index, hidden files, and links that stay inside or lead out. The
// secret beside the directory must never be served.
func staticTree(t testing.TB) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "www")
	files := map[string]string{
		"index.html":           "<!doctype html><title>home</title>",
		"app.js":               "console.log('plain')",
		"app.js.br":            "BR-BYTES",
		"app.js.gz":            "GZ-BYTES",
		"app.js.zst":           "ZST-BYTES",
		"style.css":            "body{}",
		"data.bin":             strings.Repeat("0123456789", 1000),
		"sub/index.html":       "sub index",
		"sub/.hidden":          "hidden in sub",
		"noindex/a.txt":        "a",
		"noindex/.b.txt":       "hidden b",
		".secret":              "SECRET-DOTFILE",
		".git/config":          "SECRET-GIT",
		"dir with space/x.txt": "spaced",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "outside.txt"), []byte("SECRET-OUTSIDE"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"escape.txt":  "../outside.txt",
		"abs.txt":     filepath.Join(base, "outside.txt"),
		"escapedir":   "..",
		"inside.html": "index.html",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	// Files change by deploys, not in the second the test runs: a Last-Modified in the
	// past makes If-Modified-Since comparisons meaningful.
	old := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	_ = filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	return root
}

// staticSite returns a site "static.example" serving dir at "/", browse on at "/browse/",
// and the in-memory tree spa at "/spa" with the SPA fallback.
func staticSite(t testing.TB, dir string, spa fstest.MapFS) *Site {
	return &Site{
		Site: site.Site{
			Name:  "static",
			Hosts: []string{"static.example"},
			Routes: []site.Route{
				{Path: "/", Static: &site.Static{Dir: dir}},
				{Path: "/browse/", Static: &site.Static{Dir: dir, Browse: true, Index: []string{}}},
				{Path: "/spa", Static: &site.Static{FS: spa, SPA: true}},
			},
		},
		Certificates: []tls.Certificate{cert(t, "static.example")},
	}
}

func spaFS() fstest.MapFS {
	mt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return fstest.MapFS{
		"index.html":     {Data: []byte("SPA-SHELL"), ModTime: mt},
		"assets/app.js":  {Data: []byte("spa js"), ModTime: mt},
		".env":           {Data: []byte("SECRET-ENV"), ModTime: mt},
		"assets/app.css": {Data: []byte("spa css"), ModTime: mt},
	}
}

// staticRequest does one request and returns the response with its body read.
func staticRequest(t *testing.T, c *http.Client, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestStaticServing(t *testing.T) {
	t.Parallel()
	dir := staticTree(t)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, staticSite(t, dir, spaFS()))
	for _, h1 := range []bool{false, true} {
		c := httpClient(t, srv.Addr(), h1)
		base := "https://static.example"
		etagOfIndex := ""
		for _, tc := range []struct {
			name       string
			method     string
			path       string
			hdr        []string
			status     int
			body       string            // exact body, unless empty
			contains   string            // a substring of the body
			headers    map[string]string // exact header values ("" means absent)
			notContain string
		}{
			{name: "index of root", path: "/", status: 200, body: "<!doctype html><title>home</title>",
				headers: map[string]string{"Content-Type": "text/html; charset=utf-8", "Last-Modified": "Fri, 02 Jan 2026 03:04:05 GMT"}},
			{name: "file", path: "/style.css", status: 200, body: "body{}", headers: map[string]string{"Content-Type": "text/css; charset=utf-8", "Accept-Ranges": "bytes"}},
			{name: "HEAD", method: "HEAD", path: "/data.bin", status: 200, body: "", headers: map[string]string{"Content-Length": "10000"}},
			{name: "directory without slash", path: "/sub?x=1", status: 301, headers: map[string]string{"Location": "/sub/?x=1"}},
			{name: "directory index", path: "/sub/", status: 200, body: "sub index"},
			{name: "directory without index, no listing", path: "/noindex/", status: 404},
			{name: "file with a slash", path: "/style.css/", status: 404},
			{name: "missing", path: "/nope.html", status: 404},
			{name: "POST", method: "POST", path: "/index.html", status: 405, headers: map[string]string{"Allow": "GET, HEAD"}},
			{name: "link inside", path: "/inside.html", status: 200, body: "<!doctype html><title>home</title>"},
			{name: "space", path: "/dir%20with%20space/x.txt", status: 200, body: "spaced"},
			{name: "listing", path: "/browse/noindex/", status: 200, contains: `<a href="a.txt">a.txt</a>`, notContain: ".b.txt"},
			{name: "listing escapes", path: "/browse/", status: 200, contains: `href="dir%20with%20space/"`, notContain: ".secret"},
			{name: "range", path: "/data.bin", hdr: []string{"Range", "bytes=10-19"}, status: 206, body: "0123456789",
				headers: map[string]string{"Content-Range": "bytes 10-19/10000"}},
			{name: "suffix range", path: "/data.bin", hdr: []string{"Range", "bytes=-5"}, status: 206, body: "56789"},
			{name: "multipart range", path: "/data.bin", hdr: []string{"Range", "bytes=0-1,5-6"}, status: 206, contains: "Content-Range: bytes 5-6/10000"},
			{name: "unsatisfiable range", path: "/data.bin", hdr: []string{"Range", "bytes=20000-"}, status: 416,
				headers: map[string]string{"Content-Range": "bytes */10000"}},
			{name: "If-Modified-Since", path: "/style.css", hdr: []string{"If-Modified-Since", "Fri, 02 Jan 2026 03:04:05 GMT"}, status: 304, body: ""},
			{name: "If-Modified-Since older", path: "/style.css", hdr: []string{"If-Modified-Since", "Thu, 01 Jan 2026 03:04:05 GMT"}, status: 200, body: "body{}"},
			{name: "If-Range stale", path: "/data.bin", hdr: []string{"Range", "bytes=0-1", "If-Range", `"stale"`}, status: 200},
			{name: "br preferred", path: "/app.js", hdr: []string{"Accept-Encoding", "gzip, deflate, br, zstd"}, status: 200, body: "BR-BYTES",
				headers: map[string]string{"Content-Encoding": "br", "Vary": "Accept-Encoding", "Content-Type": "text/javascript; charset=utf-8"}},
			{name: "q-values", path: "/app.js", hdr: []string{"Accept-Encoding", "br;q=0.5, gzip"}, status: 200, body: "GZ-BYTES",
				headers: map[string]string{"Content-Encoding": "gzip"}},
			{name: "zstd", path: "/app.js", hdr: []string{"Accept-Encoding", "zstd"}, status: 200, body: "ZST-BYTES"},
			{name: "refused coding", path: "/app.js", hdr: []string{"Accept-Encoding", "br;q=0, gzip;q=0, zstd;q=0"}, status: 200, body: "console.log('plain')",
				headers: map[string]string{"Content-Encoding": ""}},
			{name: "identity", path: "/app.js", hdr: []string{"Accept-Encoding", "identity"}, status: 200, body: "console.log('plain')",
				headers: map[string]string{"Content-Encoding": "", "Vary": ""}},
			{name: "sibling asked directly", path: "/app.js.gz", status: 200, body: "GZ-BYTES", headers: map[string]string{"Content-Encoding": ""}},
			{name: "SPA file", path: "/spa/assets/app.js", status: 200, body: "spa js"},
			{name: "SPA fallback", path: "/spa/users/42/edit", status: 200, body: "SPA-SHELL",
				headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
			{name: "SPA root", path: "/spa", status: 301, headers: map[string]string{"Location": "/spa/"}},
			{name: "SPA hidden", path: "/spa/.env", status: 404, notContain: "SECRET"},
		} {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			resp, body := staticRequest(t, c, method, base+tc.path, append([]string{"Accept-Encoding", "identity"}, tc.hdr...)...)
			name := tc.name + map[bool]string{true: " h1", false: " h2"}[h1]
			if resp.StatusCode != tc.status {
				t.Errorf("%s: %s %s: status %d; want %d (body %q)", name, method, tc.path, resp.StatusCode, tc.status, body)
				continue
			}
			if tc.body != "" || tc.status == 304 || method == "HEAD" {
				if body != tc.body {
					t.Errorf("%s: body %q; want %q", name, body, tc.body)
				}
			}
			if tc.contains != "" && !strings.Contains(body, tc.contains) {
				t.Errorf("%s: body lacks %q:\n%s", name, tc.contains, body)
			}
			if tc.notContain != "" && strings.Contains(body, tc.notContain) {
				t.Errorf("%s: body has %q:\n%s", name, tc.notContain, body)
			}
			for k, v := range tc.headers {
				if got := strings.Join(resp.Header.Values(k), ", "); got != v {
					t.Errorf("%s: %s: %q; want %q", name, k, got, v)
				}
			}
			if tc.path == "/" {
				etagOfIndex = resp.Header.Get("Etag")
			}
		}
		if !strings.HasPrefix(etagOfIndex, `"`) {
			t.Fatalf("ETag %q is not a strong entity tag", etagOfIndex)
		}
		resp, body := staticRequest(t, c, "GET", base+"/", "If-None-Match", etagOfIndex)
		if resp.StatusCode != 304 || body != "" {
			t.Errorf("If-None-Match: %d %q; want 304 and no body", resp.StatusCode, body)
		}
		resp, _ = staticRequest(t, c, "GET", base+"/index.html", "Range", "bytes=0-1", "If-Range", etagOfIndex)
		if resp.StatusCode != 206 {
			t.Errorf("If-Range with the current ETag: %d; want 206", resp.StatusCode)
		}
	}
}
