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
// 1 KiB file, from a directory of the server and from an in-memory tree.
func BenchmarkStaticHandler(b *testing.B) {
	dir := b.TempDir()
	body := strings.Repeat("x", 1024)
	if err := os.WriteFile(filepath.Join(dir, "1k.bin"), []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	s := &Site{Site: site.Site{Name: "bench"}}
	for _, tc := range []struct {
		name string
		st   *site.Static
	}{
		{"dir", &site.Static{Dir: dir}},
		{"fs", &site.Static{FS: fstest.MapFS{"1k.bin": {Data: []byte(body)}}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, err := newStaticHandler(s, &site.Route{Path: "/", Static: tc.st})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/1k.bin", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
