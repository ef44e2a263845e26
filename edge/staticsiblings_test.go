package edge

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// TestStaticSiblingsRemembered checks that a file known to have no precompressed sibling
// is answered as before to a request accepting encodings (no Vary, no Content-Encoding),
// that the knowledge is the cache entry's: a sibling deployed later is served once the
// entry is past its second, as a missing name is, and that a file with siblings keeps
// choosing by the request's Accept-Encoding.
func TestStaticSiblingsRemembered(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"x.css": "body{}", "y.js": "let y;", "y.js.gz": "GZ"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := newStaticHandler(&Site{Site: site.Site{Name: "siblings"}}, &site.Route{Path: "/", Static: &site.Static{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	get := func(name, ae string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/"+name, nil)
		req.Header.Set("Accept-Encoding", ae)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	check := func(what string, w *httptest.ResponseRecorder, body, enc, vary string) {
		t.Helper()
		if w.Code != http.StatusOK || w.Body.String() != body || w.Header().Get("Content-Encoding") != enc || w.Header().Get("Vary") != vary {
			t.Fatalf("%s: %d %q Content-Encoding %q Vary %q; want 200 %q %q %q", what, w.Code, w.Body.String(),
				w.Header().Get("Content-Encoding"), w.Header().Get("Vary"), body, enc, vary)
		}
	}
	for i := range 3 {
		check("x.css, request "+string(rune('1'+i)), get("x.css", "br, gzip"), "body{}", "", "")
	}
	fsys := h.(*staticHandler).src.files().(*openFileCache)
	if m := fsys.cachedMeta("x.css"); m == nil || !m.knownNoSiblings() {
		t.Fatal("x.css: not remembered as without siblings")
	}
	check("y.js gzip", get("y.js", "br, gzip"), "GZ", "gzip", "Accept-Encoding")
	check("y.js br", get("y.js", "br"), "let y;", "", "")
	check("y.js identity", get("y.js", "identity"), "let y;", "", "")

	if err := os.WriteFile(filepath.Join(dir, "x.css.gz"), []byte("GZ-CSS"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("x.css within its second", get("x.css", "gzip"), "body{}", "", "")
	fsys.entries.Range(func(_, v any) bool {
		v.(*cachedEntry).expires = time.Now().Add(-time.Second).UnixNano()
		return true
	})
	check("x.css after its second", get("x.css", "gzip"), "GZ-CSS", "gzip", "Accept-Encoding")
}
