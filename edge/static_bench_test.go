package edge

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/edgectl/edge/edge/site"
)

// BenchmarkStaticHandler measures the static handler alone (no TLS, no HTTP framing) on a
// 1 KiB file, from a directory of the server and from an in-memory tree. The "dir" and
// "fs" cases write to an httptest.ResponseRecorder (7 of their allocations are the
// recorder's); the "discard" ones to a writer that keeps nothing and reuses its header
// map (bench_test.go), which leaves the handler's own allocations; "1m" is a 1 MiB file;
// "ae" requests send a browser's Accept-Encoding (the files have no precompressed sibling).
func BenchmarkStaticHandler(b *testing.B) {
	dir := b.TempDir()
	small, big := strings.Repeat("x", 1024), strings.Repeat("y", 1<<20)
	for name, body := range map[string]string{"1k.bin": small, "1m.bin": big} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	tree := fstest.MapFS{"1k.bin": {Data: []byte(small)}, "1m.bin": {Data: []byte(big)}}
	s := &Site{Site: site.Site{Name: "bench"}}
	for _, tc := range []struct {
		name, file string
		st         *site.Static
		discard    bool
		ae         string
	}{
		{"dir", "1k.bin", &site.Static{Dir: dir}, false, ""},
		{"fs", "1k.bin", &site.Static{FS: tree}, false, ""},
		{"dir-discard", "1k.bin", &site.Static{Dir: dir}, true, ""},
		{"fs-discard", "1k.bin", &site.Static{FS: tree}, true, ""},
		{"dir-1m-discard", "1m.bin", &site.Static{Dir: dir}, true, ""},
		{"fs-1m-discard", "1m.bin", &site.Static{FS: tree}, true, ""},
		{"dir-discard-ae", "1k.bin", &site.Static{Dir: dir}, true, browserAE},
		{"fs-discard-ae", "1k.bin", &site.Static{FS: tree}, true, browserAE},
		{"dir-1m-discard-ae", "1m.bin", &site.Static{Dir: dir}, true, browserAE},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, err := newStaticHandler(s, &site.Route{Path: "/", Static: tc.st})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/"+tc.file, nil)
			if tc.ae != "" {
				req.Header.Set("Accept-Encoding", tc.ae)
			}
			dw := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				if tc.discard {
					clear(dw.h)
					dw.code = 0
					h.ServeHTTP(dw, req)
					if dw.code != http.StatusOK {
						b.Fatal(dw.code)
					}
					continue
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

// browserAE is the Accept-Encoding browsers send.
const browserAE = "gzip, deflate, br, zstd"
