package edge

import (
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// precompressed lists the siblings looked for, in the order preferred at equal q-value,
// with the Content-Encoding each is served with.
var precompressed = []struct{ enc, ext string }{
	{"br", ".br"},
	{"zstd", ".zst"},
	{"gzip", ".gz"},
}

// serveFile answers r with the file name of fsys (f, described by info), or with its
// precompressed sibling when the client accepts that sibling's encoding. Conditional and
// range requests are net/http.ServeContent's: a strong ETag and Last-Modified are set for
// it first. A plain GET or HEAD of a file whose headers are prepared (fileMeta) gets the
// same response without it (serveWhole).
func (h *staticHandler) serveFile(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string, f fs.File, info fs.FileInfo) {
	hdr := w.Header()
	ext, encoded := path.Ext(name), false
	m := h.metaOf(name, f, info)
	if !h.cfg.NoPrecompressed {
		if ae := r.Header.Get("Accept-Encoding"); ae != "" && !m.noSiblings(fsys, name) {
			if sf, sinfo, i, found := siblingFor(fsys, name, ae); found {
				hdr.Add("Vary", "Accept-Encoding")
				if sf != nil {
					defer sf.Close()
					encoded = true
					hdr.Set("Content-Encoding", precompressed[i].enc)
					name, f, info = name+precompressed[i].ext, sf, sinfo
					m = h.metaOf(name, f, info)
				}
			}
		}
	}
	if m != nil && plainRequest(r) {
		if mh := m.header(ext, encoded); mh.vals[1] != "" {
			serveWhole(w, r, m, mh, f, info.Size())
			return
		}
	}
	if ctype := staticType(ext, encoded); ctype != "" {
		hdr.Set("Content-Type", ctype)
	}
	if m != nil {
		hdr.Set("Etag", m.etag)
	} else {
		hdr.Set("Etag", etagOf(fsys, name, info))
	}
	rs, err := readSeeker(f, info.Size())
	if err != nil {
		writeError(w, r, h.entry, http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, name, info.ModTime(), rs)
}

// serveCached answers r for the file name (a file name, not a directory's) from the
// prepared headers and content of a fresh entry of the open-file cache fsys, without
// opening it (no handle, no stat, no content-type look-up): when r is a plain request
// (plainRequest) that takes no precompressed sibling (it accepts no encoding, or the file
// is known to have none) and the file is a small one held in memory. It reports false, having written nothing, when it cannot; the request then
// takes the usual path, which answers it the same way.
func (h *staticHandler) serveCached(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string) bool {
	c, ok := fsys.(*openFileCache)
	if !ok || !plainRequest(r) {
		return false
	}
	m := c.cachedMeta(name)
	if m == nil || m.data == nil {
		return false
	}
	if !h.cfg.NoPrecompressed && r.Header.Get("Accept-Encoding") != "" && !m.knownNoSiblings() {
		return false
	}
	mh := m.header(path.Ext(name), false)
	if mh.vals[1] == "" {
		return false
	}
	serveWhole(w, r, m, mh, nil, int64(len(m.data)))
	return true
}

// metaOf returns the prepared headers (and small content) of the file name, open as f and
// described by info: the open-file cache's, the memo's, or nil (a file opened uncached).
func (h *staticHandler) metaOf(name string, f fs.File, info fs.FileInfo) *fileMeta {
	if mf, ok := f.(metaFile); ok {
		return mf.fileMeta()
	}
	if h.memo != nil {
		return h.memo.get(name, f, info)
	}
	return nil
}

// siblingFor looks for a precompressed sibling of name that the Accept-Encoding ae
// allows, the client's preference (q-value) first and br, zstd, gzip among equals. It
// returns the sibling opened (nil if the client accepts none of those found) with its
// index in precompressed, and whether any sibling the client could be sent exists (the response then
// varies by Accept-Encoding).
func siblingFor(fsys fs.FS, name, ae string) (fs.File, fs.FileInfo, int, bool) {
	found := false
	best, bestQ := -1, 0.0
	var bf fs.File
	var bi fs.FileInfo
	for i, p := range precompressed {
		q := acceptQ(ae, p.enc)
		if q <= 0 || q <= bestQ {
			continue
		}
		f, info, err := openStatic(fsys, name+p.ext)
		if err != nil || info.IsDir() {
			if f != nil {
				f.Close()
			}
			continue
		}
		found = true
		if bf != nil {
			bf.Close()
		}
		best, bestQ, bf, bi = i, q, f, info
	}
	if best < 0 {
		return nil, nil, -1, found
	}
	return bf, bi, best, true
}

// acceptQ returns the q-value the Accept-Encoding header ae gives coding (an explicit
// entry, else "*"), 0 when not acceptable.
func acceptQ(ae, coding string) float64 {
	star := -1.0
	for part := range strings.SplitSeq(ae, ",") {
		c, params, _ := strings.Cut(part, ";")
		c = strings.TrimSpace(c)
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			var err error
			if q, err = strconv.ParseFloat(v, 64); err != nil || q < 0 || q > 1 {
				q = 0
			}
		}
		switch {
		case strings.EqualFold(c, coding):
			return q
		case c == "*":
			star = q
		}
	}
	return max(star, 0)
}

// etagOf returns a strong entity tag for the file: from the content hash when fsys knows
// it (a git tree: the blob's hash), else from the modification time and size, as nginx
// makes it ("mtime-size" in hex), which changes whenever a deploy replaces the file.
func etagOf(fsys fs.FS, name string, info fs.FileInfo) string {
	if hf, ok := fsys.(interface{ FileHash(string) ([]byte, bool) }); ok {
		if sum, ok := hf.FileHash(name); ok {
			return `"` + hex.EncodeToString(sum[:min(len(sum), 16)]) + `"`
		}
	}
	return fmt.Sprintf(`"%x-%x"`, info.ModTime().Unix(), info.Size())
}
