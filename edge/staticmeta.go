package edge

import (
	"io"
	"io/fs"
	"mime"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// fileMeta is what every whole-file response for one version of a file repeats, prepared
// once when the file is looked up (not per request): its header values and, for a small
// file, its content. It never changes once made.
type fileMeta struct {
	etag         string // strong entity tag, quoted
	lastModified string // "" when the modification time is unknown (zero)
	length       string // Content-Length
	data         []byte // the whole content when small (maxInlineFile), else nil

	hdr      atomic.Pointer[metaHeader] // the header values of serveWhole, made by the first
	siblings atomic.Uint32              // siblingsUnknown, None or Some (staticsiblings.go)
}

// metaHeader holds the values serveWhole puts in a response's header map, each as a
// one-element slice of vals (capacity one, so an Add copies): shared by every response
// for one version of a file, never changed. The content type is the one of the name's
// extension ext, application/octet-stream for an encoded sibling of a file whose
// extension has none; "" (no whole response prepared: net/http sniffs the content).
type metaHeader struct {
	ext     string
	encoded bool
	vals    [5]string // Etag, Content-Type, Accept-Ranges, Content-Length, Last-Modified
}

// header returns m's header values when served for a name with extension ext, encoded
// when m is a precompressed sibling's. A file is served under one name (or one
// uncompressed name, as a sibling), so they are made once, by the first request;
// another name (the sibling asked for by its own name) replaces them.
func (m *fileMeta) header(ext string, encoded bool) *metaHeader {
	if mh := m.hdr.Load(); mh != nil && mh.ext == ext && mh.encoded == encoded {
		return mh
	}
	mh := &metaHeader{ext: ext, encoded: encoded}
	mh.vals = [5]string{m.etag, staticType(ext, encoded), "bytes", m.length, m.lastModified}
	m.hdr.Store(mh)
	return mh
}

// staticType returns the content type of a file with extension ext ("" when unknown),
// application/octet-stream instead for a precompressed sibling (encoded bytes are never
// sniffed).
func staticType(ext string, encoded bool) string {
	ctype := mime.TypeByExtension(ext)
	if ctype == "" && encoded {
		ctype = "application/octet-stream"
	}
	return ctype
}

// Bounds on the content a static route on a directory keeps in memory: files up to
// maxInlineFile bytes, maxInlineBytes in all per directory. Beyond them files are read
// per request.
const (
	maxInlineFile  = 32 << 10
	maxInlineBytes = 4 << 20
)

// inlineBudget counts the bytes of file content a source keeps in memory.
type inlineBudget struct{ used atomic.Int64 }

// take reserves n bytes; it reports false (reserving nothing) when they do not fit.
func (b *inlineBudget) take(n int64) bool {
	if b.used.Add(n) > maxInlineBytes {
		b.used.Add(-n)
		return false
	}
	return true
}

// give returns the bytes of m's content, if it kept any.
func (b *inlineBudget) give(m *fileMeta) {
	if m != nil && m.data != nil {
		b.used.Add(-int64(len(m.data)))
	}
}

// newFileMeta prepares the response headers of the regular file described by info, with
// entity tag etag, and reads its content from r into memory when it is small and budget
// allows (b nil: never). A failed or short read keeps no content.
func newFileMeta(info fs.FileInfo, etag string, r io.ReaderAt, b *inlineBudget) *fileMeta {
	m := &fileMeta{etag: etag, length: strconv.FormatInt(info.Size(), 10)}
	if t := info.ModTime(); !t.IsZero() && !t.Equal(time.Unix(0, 0)) { // as net/http's isZeroTime
		m.lastModified = t.UTC().Format(http.TimeFormat)
	}
	if size := info.Size(); r != nil && b != nil && size > 0 && size <= maxInlineFile && b.take(size) {
		data := make([]byte, size)
		if n, err := r.ReadAt(data, 0); n == len(data) && (err == nil || err == io.EOF) {
			m.data = data
		} else {
			b.used.Add(-size)
		}
	}
	return m
}

// metaFile is a file that carries its prepared fileMeta (an openFileCache's files).
type metaFile interface {
	fileMeta() *fileMeta
}

// plainRequest reports whether r asks for the whole file unconditionally: no validator to
// check (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since) and no Range.
// Such a request is answered 200 with the whole file by net/http.ServeContent, so the
// static handler may answer it from a fileMeta without it.
func plainRequest(r *http.Request) bool {
	h := r.Header
	return len(h["Range"]) == 0 && len(h["If-None-Match"]) == 0 && len(h["If-Modified-Since"]) == 0 &&
		len(h["If-Match"]) == 0 && len(h["If-Unmodified-Since"]) == 0
}

// serveWhole answers a plain request (plainRequest) for a whole file with the headers
// and body net/http.ServeContent sends for it: Etag, Last-Modified, Content-Type,
// Accept-Ranges, Content-Length (unless a Content-Encoding is set), status 200 and, but
// for HEAD, the body: m's content, else size bytes of rs. mh is m's header values, with a
// content type.
func serveWhole(w http.ResponseWriter, r *http.Request, m *fileMeta, mh *metaHeader, rs io.Reader, size int64) {
	hdr := w.Header()
	vals := &mh.vals
	hdr["Etag"] = vals[0:1:1]
	hdr["Content-Type"] = vals[1:2:2]
	hdr["Accept-Ranges"] = vals[2:3:3]
	if len(hdr["Content-Encoding"]) == 0 || hdr.Get("Content-Encoding") == "" {
		hdr["Content-Length"] = vals[3:4:4]
	}
	if m.lastModified != "" {
		hdr["Last-Modified"] = vals[4:5:5]
	}
	if ho, ok := w.(headerHandOffer); ok {
		ho.HandOffHeader() // nothing uses hdr after WriteHeader: no copy of it
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if m.data != nil {
		_, _ = w.Write(m.data)
		return
	}
	_, _ = copyBody(w, rs, size)
}
