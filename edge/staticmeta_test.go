package edge

import (
	"bytes"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// TestServeWholeLikeServeContent checks that a plain GET or HEAD answered from the prepared
// headers (serveWhole) gets what net/http.ServeContent answers for the same file: status,
// the headers that carry the semantics and the body, for files kept in memory, at the
// limit and read per request, from a directory and from an immutable tree, and for a
// precompressed sibling (no Content-Length, as ServeContent does with a Content-Encoding).
func TestServeWholeLikeServeContent(t *testing.T) {
	mt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dir := t.TempDir()
	tree := fstest.MapFS{}
	sizes := map[string]int{"empty.txt": 0, "small.txt": 10, "limit.txt": maxInlineFile,
		"over.txt": maxInlineFile + 1, "big.txt": 3*staticCopyBuffer + 7, "app.js": 100, "app.js.br": 50}
	for name, n := range sizes {
		data := bytes.Repeat([]byte{byte('a' + n%26)}, n)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
		tree[name] = &fstest.MapFile{Data: data, ModTime: mt}
	}
	s := &Site{Site: site.Site{Name: "meta"}}
	for _, src := range []struct {
		name string
		st   *site.Static
	}{{"dir", &site.Static{Dir: dir}}, {"tree", &site.Static{FS: tree}}} {
		h, err := newStaticHandler(s, &site.Route{Path: "/", Static: src.st})
		if err != nil {
			t.Fatal(err)
		}
		sh := h.(*staticHandler)
		for name := range sizes {
			for _, method := range []string{"GET", "HEAD"} {
				for _, ae := range []string{"", "br"} {
					for range 2 { // the first request prepares the headers, the second uses them
						req := httptest.NewRequest(method, "/"+name, nil)
						if ae != "" {
							req.Header.Set("Accept-Encoding", ae)
						}
						got := httptest.NewRecorder()
						h.ServeHTTP(got, req)
						want := serveContentOf(t, sh, tree, name, ae, req)
						compareResponses(t, src.name+" "+method+" "+name+" ae="+ae, got, want)
					}
				}
			}
		}
	}
}

// serveContentOf answers req the way the static handler did before serveWhole: the file
// (or its .br sibling when ae asks for it and it exists) through http.ServeContent, with
// the handler's ETag and Content-Type.
func serveContentOf(t *testing.T, h *staticHandler, tree fstest.MapFS, name, ae string, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	served := name
	ctype := mime.TypeByExtension(path.Ext(name))
	if _, ok := tree[name+".br"]; ok && ae == "br" {
		served = name + ".br"
		w.Header().Set("Vary", "Accept-Encoding")
		w.Header().Set("Content-Encoding", "br")
		if ctype == "" {
			ctype = "application/octet-stream"
		}
	}
	f, info, err := openStatic(h.src.files(), served)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.Header().Set("Etag", etagOf(h.src.files(), served, info))
	if h.memo != nil {
		w.Header().Set("Etag", etagOf(h.memo.fsys, served, info))
	}
	rs, err := readSeeker(f, info.Size())
	if err != nil {
		t.Fatal(err)
	}
	http.ServeContent(w, req, served, info.ModTime(), rs)
	return w
}

// compareResponses fails unless got and want have the same status, body and the headers
// a client acts on.
func compareResponses(t *testing.T, what string, got, want *httptest.ResponseRecorder) {
	t.Helper()
	if got.Code != want.Code {
		t.Fatalf("%s: status %d; want %d", what, got.Code, want.Code)
	}
	for _, k := range []string{"Etag", "Last-Modified", "Content-Type", "Content-Length", "Content-Encoding", "Accept-Ranges", "Vary"} {
		if g, w := got.Header().Values(k), want.Header().Values(k); strings.Join(g, "|") != strings.Join(w, "|") {
			t.Errorf("%s: %s %q; want %q", what, k, g, w)
		}
	}
	if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
		t.Errorf("%s: body of %d bytes differs from ServeContent's (%d bytes)", what, got.Body.Len(), want.Body.Len())
	}
}

// TestInlineBudget checks that the bytes of content a source keeps in memory are bounded
// and given back when an entry is replaced: a file over the budget is still served, read
// per request, and the count returns to what the entries hold.
func TestInlineBudget(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("x"), maxInlineFile)
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	c := &openFileCache{root: root.FS()}
	c.inline.used.Store(maxInlineBytes - maxInlineFile + 1) // one byte short of room
	f, err := c.Open("f.txt")
	if err != nil {
		t.Fatal(err)
	}
	if m := f.(metaFile).fileMeta(); m.data != nil || m.length != "32768" {
		t.Fatalf("over the budget: content kept (%d bytes) or length %q", len(m.data), m.length)
	}
	c.inline.used.Store(0)
	v, _ := c.entries.Load("f.txt")
	v.(*cachedEntry).expires = 0 // stale: the next Open replaces it
	f, err = c.Open("f.txt")
	if err != nil {
		t.Fatal(err)
	}
	if m := f.(metaFile).fileMeta(); !bytes.Equal(m.data, data) {
		t.Fatalf("within the budget: content not kept")
	}
	if got := c.inline.used.Load(); got != maxInlineFile {
		t.Fatalf("budget used %d; want %d", got, maxInlineFile)
	}
	v, _ = c.entries.Load("f.txt")
	v.(*cachedEntry).expires = 0
	if _, err := c.Open("f.txt"); err != nil {
		t.Fatal(err)
	}
	if got := c.inline.used.Load(); got != maxInlineFile {
		t.Fatalf("after a replacement the budget used is %d; want %d (the old entry's bytes given back)", got, maxInlineFile)
	}
}

// TestOpenFileCacheSweep checks that a miss removes the entries expired since the last
// sweep, giving back their count and content budget, and keeps the fresh ones.
func TestOpenFileCacheSweep(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"old.txt", "fresh.txt", "new.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	c := &openFileCache{root: root.FS()}
	for _, n := range []string{"old.txt", "fresh.txt", "missing.txt"} {
		_, _ = c.Open(n)
	}
	for _, n := range []string{"old.txt", "missing.txt"} {
		v, _ := c.entries.Load(n)
		v.(*cachedEntry).expires = 0
	}
	c.nextSweep.Store(0)
	if _, err := c.Open("new.txt"); err != nil {
		t.Fatal(err)
	}
	var names []string
	c.entries.Range(func(k, _ any) bool { names = append(names, k.(string)); return true })
	slices.Sort(names)
	if strings.Join(names, " ") != "fresh.txt new.txt" || c.size.Load() != 2 || c.inline.used.Load() != int64(len("fresh.txtnew.txt")) {
		t.Fatalf("after the sweep: entries %v, size %d, content %d bytes; want fresh.txt new.txt, 2, %d",
			names, c.size.Load(), c.inline.used.Load(), len("fresh.txtnew.txt"))
	}
}

// TestServeCachedLikeOpen checks the path that answers a plain request from the open-file
// cache without opening the file (serveCached): it answers only a fresh entry of a small
// file, for a request that takes no sibling (none accepted, or none known to exist), and
// answers it as the usual path does
// (headers, body, HEAD); a sibling asked for by its own name (no content type: net/http
// sniffs it) between requests for its file does not change the file's content type.
func TestServeCachedLikeOpen(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"a.js": "let a = 1;", "a.js.br": "brotli", "big.bin": strings.Repeat("b", maxInlineFile+1),
		"plain.js": "let p = 1;"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := newStaticHandler(&Site{Site: site.Site{Name: "cached"}}, &site.Route{Path: "/", Static: &site.Static{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	sh := h.(*staticHandler)
	get := func(method, name, ae string, hdr ...string) (*httptest.ResponseRecorder, *http.Request) {
		req := httptest.NewRequest(method, "/"+name, nil)
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return httptest.NewRecorder(), req
	}
	fsys := sh.src.files()
	for _, tc := range []struct {
		method, name, ae string
		hdr              []string
		cached           bool
	}{
		{"GET", "a.js", "", nil, true},
		{"HEAD", "a.js", "", nil, true},
		{"GET", "a.js", "br", nil, false},          // a sibling may be taken
		{"GET", "plain.js", "br, gzip", nil, true}, // known (by the usual path) to have no sibling
		{"HEAD", "plain.js", "gzip", nil, true},
		{"GET", "a.js.br", "", nil, false}, // the sibling by its own name: no type, sniffed
		{"GET", "a.js", "", nil, true},     // its own type again
		{"GET", "big.bin", "", nil, false}, // not held in memory
		{"GET", "a.js", "", []string{"Range", "bytes=0-1"}, false},
		{"GET", "a.js", "", []string{"If-None-Match", `"x"`}, false},
		{"GET", "missing.js", "", nil, false},
	} {
		what := tc.method + " " + tc.name + " ae=" + tc.ae + " " + strings.Join(tc.hdr, " ")
		want, req := get(tc.method, tc.name, tc.ae, tc.hdr...)
		h.ServeHTTP(want, req) // the usual path (it also fills the cache)
		got, req := get(tc.method, tc.name, tc.ae, tc.hdr...)
		if ok := sh.serveCached(got, req, fsys, tc.name); ok != tc.cached {
			t.Fatalf("%s: serveCached %v; want %v", what, ok, tc.cached)
		}
		if !tc.cached {
			if got.Code != http.StatusOK || got.Body.Len() != 0 || len(got.Header()) != 0 {
				t.Fatalf("%s: serveCached wrote though it did not answer", what)
			}
			continue
		}
		compareResponses(t, what, got, want)
		if got.Header().Get("Content-Type") == "" {
			t.Errorf("%s: no Content-Type", what)
		}
	}
	// An entry past its second is not used: the file may have changed.
	v, _ := fsys.(*openFileCache).entries.Load("a.js")
	v.(*cachedEntry).expires = time.Now().Add(-time.Second).UnixNano()
	got, req := get("GET", "a.js", "")
	if sh.serveCached(got, req, fsys, "a.js") {
		t.Fatal("serveCached answered from an expired entry")
	}
}
