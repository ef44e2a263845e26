package edge

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// startNginx serves dir with Debian's nginx (gzip_static on, as edge serves precompressed
// siblings) on a loopback port and returns its base URL; it stops when the test ends.
func startNginx(t *testing.T, dir string) string {
	t.Helper()
	bin := "/usr/sbin/nginx" // Debian's, not on a user's PATH
	if _, err := os.Stat(bin); err != nil {
		bin = testenv.NeedTool(t, "nginx", "nginx")
	}
	work := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	conf := fmt.Sprintf(`pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen %[2]s;
        root %[3]s;
        gzip_static on;
        gzip_vary on;
    }
}
`, work, addr, dir)
	cf := filepath.Join(work, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var out testenv.SyncBuffer
	exited := testenv.StartProcess(t, "nginx", exec.Command(bin, "-p", work, "-c", cf, "-g", "daemon off; master_process off;"), &out)
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/style.css")
		if err == nil {
			resp.Body.Close()
			return base
		}
		select {
		case <-exited:
			t.Fatalf("nginx exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not answer on %s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStaticLikeNginx sends the same conditional, range and encoding requests to edge and
// to nginx serving the same directory, and compares status and the headers that carry the
// semantics. Where edge differs on purpose the row says why, and asserts edge's answer.
func TestStaticLikeNginx(t *testing.T) {
	t.Parallel()
	dir := staticTree(t)
	nginx := startNginx(t, dir)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, staticSite(t, dir, spaFS()))
	edge := httpClient(t, srv.Addr(), true)
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	probe, _ := staticRequest(t, plain, "GET", nginx+"/data.bin")
	etag, lm := probe.Header.Get("Etag"), probe.Header.Get("Last-Modified")
	compared := []string{"Content-Range", "Content-Length", "Content-Encoding", "Etag", "Last-Modified", "Accept-Ranges", "Vary"}
	for _, tc := range []struct {
		name, method, path string
		hdr                []string
		edgeStatus         int    // for a deliberate difference: what edge answers
		why                string // the reason; empty means edge must answer as nginx does
	}{
		{name: "plain GET", path: "/data.bin"},
		{name: "HEAD", method: "HEAD", path: "/data.bin"},
		{name: "range", path: "/data.bin", hdr: []string{"Range", "bytes=10-19"}},
		{name: "open range", path: "/data.bin", hdr: []string{"Range", "bytes=9990-"}},
		{name: "suffix range", path: "/data.bin", hdr: []string{"Range", "bytes=-5"}},
		{name: "range past the end", path: "/data.bin", hdr: []string{"Range", "bytes=9995-20000"}},
		{name: "unsatisfiable", path: "/data.bin", hdr: []string{"Range", "bytes=20000-"}},
		{name: "multipart", path: "/data.bin", hdr: []string{"Range", "bytes=0-1,5-6"}},
		{name: "If-None-Match hit", path: "/data.bin", hdr: []string{"If-None-Match", etag}},
		{name: "If-None-Match list", path: "/data.bin", hdr: []string{"If-None-Match", `"x", ` + etag}},
		{name: "If-None-Match miss", path: "/data.bin", hdr: []string{"If-None-Match", `"other"`}},
		{name: "If-None-Match star", path: "/data.bin", hdr: []string{"If-None-Match", "*"}},
		{name: "If-Modified-Since equal", path: "/data.bin", hdr: []string{"If-Modified-Since", lm}},
		{name: "If-Modified-Since older", path: "/data.bin", hdr: []string{"If-Modified-Since", "Thu, 01 Jan 2026 00:00:00 GMT"}},
		{name: "If-None-Match wins over If-Modified-Since", path: "/data.bin", hdr: []string{"If-None-Match", `"other"`, "If-Modified-Since", lm}},
		{name: "If-Range ETag", path: "/data.bin", hdr: []string{"Range", "bytes=0-1", "If-Range", etag}},
		{name: "If-Range stale ETag", path: "/data.bin", hdr: []string{"Range", "bytes=0-1", "If-Range", `"stale"`}},
		{name: "If-Range date", path: "/data.bin", hdr: []string{"Range", "bytes=0-1", "If-Range", lm}},
		{name: "If-Match miss", path: "/data.bin", hdr: []string{"If-Match", `"other"`}},
		{name: "If-Unmodified-Since older", path: "/data.bin", hdr: []string{"If-Unmodified-Since", "Thu, 01 Jan 2026 00:00:00 GMT"}},
		{name: "gzip sibling", path: "/app.js", hdr: []string{"Accept-Encoding", "gzip"}},
		{name: "no encoding", path: "/app.js", edgeStatus: 200,
			why: "nginx (gzip_vary) sends Vary whenever a sibling exists; edge only when it looked for the encodings the client accepts"},
		{name: "range of a gzip sibling", path: "/app.js", hdr: []string{"Accept-Encoding", "gzip", "Range", "bytes=0-1"}, edgeStatus: 206,
			why: "nginx ignores Range on a gzip_static file (200, all of it); edge serves the range of the encoded bytes, the representation selected (RFC 9110 14.1)"},
		{name: "directory redirect", path: "/sub", edgeStatus: 301, why: "same status; edge's Location is the path (/sub/), nginx's an absolute URL"},
		{name: "directory index", path: "/sub/"},
		{name: "missing", path: "/nope"},
		{name: "directory without index", path: "/noindex/", edgeStatus: 404,
			why: "nginx answers 403 (autoindex off); edge answers 404, saying no more about what exists"},
		{name: "hidden file", path: "/.secret", edgeStatus: 404, why: "nginx serves dot-files unless told not to; edge never does"},
		{name: "link leaving the root", path: "/escape.txt", edgeStatus: 404,
			why: "nginx follows links anywhere by default (disable_symlinks off); edge is confined to the directory"},
		{name: "brotli sibling", path: "/app.js", hdr: []string{"Accept-Encoding", "br"}, edgeStatus: 200,
			why: "Debian's nginx has no brotli_static; edge serves app.js.br"},
		{name: "POST", method: "POST", path: "/data.bin"},
	} {
		method := tc.method
		if method == "" {
			method = "GET"
		}
		hdr := append([]string{"Accept-Encoding", "identity"}, tc.hdr...)
		nr, nbody := staticRequest(t, plain, method, nginx+tc.path, hdr...)
		er, ebody := staticRequest(t, edge, method, "https://static.example"+tc.path, hdr...)
		t.Logf("%-42s nginx %d  edge %d  %s", tc.name, nr.StatusCode, er.StatusCode, tc.why)
		if tc.why != "" {
			if er.StatusCode != tc.edgeStatus {
				t.Errorf("%s: edge answered %d; want %d (%s)", tc.name, er.StatusCode, tc.edgeStatus, tc.why)
			}
			if strings.Contains(ebody, "SECRET") {
				t.Errorf("%s: edge sent a secret", tc.name)
			}
			continue
		}
		if er.StatusCode != nr.StatusCode {
			t.Errorf("%s: edge answered %d, nginx %d", tc.name, er.StatusCode, nr.StatusCode)
			continue
		}
		for _, h := range compared {
			if !comparable(h, er.StatusCode, nr) {
				continue
			}
			if e, n := er.Header.Get(h), nr.Header.Get(h); e != n {
				t.Errorf("%s: %s: edge %q, nginx %q", tc.name, h, e, n)
			}
		}
		if er.StatusCode < 300 && !strings.HasPrefix(nr.Header.Get("Content-Type"), "multipart/") && ebody != nbody {
			t.Errorf("%s: bodies differ: edge %q, nginx %q", tc.name, trim(ebody), trim(nbody))
		}
	}
}

// comparable reports whether header h of a response with status (equal for both) should
// be equal. Where not, the difference is harmless and net/http's (ServeContent):
//   - 206 and a precompressed sibling's 200 also carry Accept-Ranges (nginx sends it on
//     other 200s only);
//   - 304 carries the ETag but not Last-Modified, as RFC 9110 15.4.5 advises when there is
//     an ETag (nginx sends both);
//   - 412 keeps the validators (nginx drops them); error bodies differ, and so do their
//     lengths, as do multipart boundaries.
func comparable(h string, status int, nginx *http.Response) bool {
	switch {
	case status >= 400:
		return h == "Content-Range"
	case h == "Accept-Ranges":
		return status == 200 && nginx.Header.Get("Content-Encoding") == ""
	case h == "Last-Modified":
		return status != 304
	case h == "Content-Length":
		return !strings.HasPrefix(nginx.Header.Get("Content-Type"), "multipart/")
	}
	return true
}

func trim(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
