package edge

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// staticHandler serves the files of a static route (site.Static): GET and HEAD only, with
// index files, an optional SPA fallback and directory listing, conditional and range
// requests (net/http.ServeContent), and precompressed siblings. Hidden names (a segment
// beginning with ".") and names no file system should see (a backslash, NUL, over-long)
// are answered 404 whether or not such a file exists. The 404s and 405s it makes go
// through writeError, with the site it serves (attachSite).
type staticHandler struct {
	prefix string // the route's path, stripped from the request path
	src    staticSource
	memo   *metaMemo   // the prepared headers of src's files, when src is immutable (FS)
	cfg    site.Static // with defaults
	entry  *siteEntry  // set by attachSite before the snapshot is published
}

// Limits on the names a static route looks up: longer ones are answered 404 without a
// look-up (nginx answers a name the file system refuses, ENAMETOOLONG, with 414 or 404).
const (
	maxStaticName    = 1024 // bytes of the path below the route
	maxStaticSegment = 255  // bytes of one path segment (NAME_MAX)
)

// newStaticHandler returns the handler of the static route rt of site s.
func newStaticHandler(s *Site, rt *site.Route) (http.Handler, error) {
	cfg := rt.Static.WithDefaults()
	h := &staticHandler{prefix: rt.Path, cfg: cfg}
	switch {
	case cfg.FS != nil:
		h.src = fsSource{cfg.FS}
		h.memo = &metaMemo{fsys: cfg.FS}
	case cfg.Dir != "":
		src, err := newDirSource(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("site %s: static dir: %w", s.Name, err)
		}
		h.src = src
	case cfg.Repo != nil:
		return nil, fmt.Errorf("site %s: static content repository %s not fetched", s.Name, cfg.Repo.URL)
	default:
		return nil, fmt.Errorf("site %s: static route without files", s.Name)
	}
	for _, n := range cfg.Index {
		if !validStaticName(n) || strings.Contains(n, "/") {
			return nil, fmt.Errorf("site %s: index file %q is not a plain file name", s.Name, n)
		}
	}
	return h, nil
}

// attachSite tells the static handler at the heart of h (if it is one) the site it answers
// for, so its error responses are the site's.
func attachSite(h http.Handler, e *siteEntry) {
	if sh, ok := unwrapHandler(h).(*staticHandler); ok {
		sh.entry = e
	}
}

// ServeHTTP serves the file r names below the route.
func (h *staticHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, r, h.entry, http.StatusMethodNotAllowed)
		return
	}
	name, dirWanted, ok := h.fileName(r.URL.Path)
	if !ok {
		writeError(w, r, h.entry, http.StatusNotFound)
		return
	}
	fsys := h.src.files()
	if !dirWanted && name != "." && h.serveCached(w, r, fsys, name) {
		return
	}
	f, info, err := openStatic(fsys, name)
	if err == nil && info.IsDir() {
		f.Close()
		if !dirWanted {
			redirectToDir(w, r)
			return
		}
		dir := name
		if f, info, name, err = h.index(fsys, dir); err != nil && h.cfg.Browse {
			serveListing(w, r, fsys, dir)
			return
		}
	} else if err == nil && dirWanted { // "/file.html/"
		f.Close()
		err = fs.ErrNotExist
	}
	if err != nil && h.cfg.SPA {
		name = "index.html"
		f, info, err = openStatic(fsys, name)
	}
	if err != nil || info.IsDir() {
		if f != nil {
			f.Close()
		}
		writeError(w, r, h.entry, http.StatusNotFound)
		return
	}
	defer f.Close()
	h.serveFile(w, r, fsys, name, f, info)
}

// fileName returns the name (for fs.FS, "." for the root) that the request path p (cleaned)
// asks for below the route, whether it ends in "/", and false when the name is not one a
// static route serves: hidden, with a backslash or NUL, or too long.
func (h *staticHandler) fileName(p string) (string, bool, bool) {
	rel := p[min(len(h.prefix), len(p)):]
	if strings.HasSuffix(h.prefix, "/") {
		if n := len(h.prefix) - 1; len(p) > n && p[n] == '/' {
			rel = p[n:] // "/" + rel, without building it
		} else {
			rel = "/" + rel
		}
	}
	if rel == "" {
		return ".", false, true // the route's own path, without its slash
	}
	dirWanted := strings.HasSuffix(rel, "/")
	name := strings.Trim(rel, "/")
	if name == "" {
		return ".", true, true
	}
	if !validStaticName(name) {
		return "", false, false
	}
	return name, dirWanted, true
}

// validStaticName reports whether the slash-separated name may be looked up: a valid
// fs.FS name within the length limits, with no hidden segment, backslash or NUL.
func validStaticName(name string) bool {
	if len(name) > maxStaticName || !fs.ValidPath(name) || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg[0] == '.' || len(seg) > maxStaticSegment {
			return false
		}
	}
	return true
}

// index opens the first index file of directory dir.
func (h *staticHandler) index(fsys fs.FS, dir string) (fs.File, fs.FileInfo, string, error) {
	for _, n := range h.cfg.Index {
		name := path.Join(dir, n)
		f, info, err := openStatic(fsys, name)
		if err == nil && !info.IsDir() {
			return f, info, name, nil
		}
		if f != nil {
			f.Close()
		}
	}
	return nil, nil, "", fs.ErrNotExist
}

// openStatic opens name in fsys and stats it.
func openStatic(fsys fs.FS, name string) (fs.File, fs.FileInfo, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() && !info.IsDir() {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, info, nil
}

// redirectToDir answers a request for a directory without its final slash with a 301 to
// the path with it (as nginx does), keeping the query, so relative links resolve.
func redirectToDir(w http.ResponseWriter, r *http.Request) {
	u := r.URL.EscapedPath() + "/"
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", u)
	w.WriteHeader(http.StatusMovedPermanently)
}

// readSeeker returns f as an io.ReadSeeker: itself when it is one (os.File, a git tree's
// files), else its content read into memory.
func readSeeker(f fs.File, size int64) (io.ReadSeeker, error) {
	if rs, ok := f.(io.ReadSeeker); ok {
		return rs, nil
	}
	if size > 64<<20 {
		return nil, fmt.Errorf("file of %d bytes cannot seek", size)
	}
	b, err := io.ReadAll(io.LimitReader(f, size+1))
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

// checkStaticRoute checks a static route: no proxy options, one source of files.
func checkStaticRoute(r *site.Route) error {
	st := r.Static
	if len(r.Upstreams) > 0 || r.HealthCheck != nil || r.Retries != 0 {
		return fmt.Errorf("static route with upstreams, retries or a health check")
	}
	n := 0
	for _, set := range []bool{st.FS != nil || st.Repo != nil, st.Dir != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("static route: want exactly one of a repo directory, a content repository or a local directory")
	}
	return nil
}
