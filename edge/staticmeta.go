package edge

import (
	"io"
	"io/fs"
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

// serveWhole answers a plain request (plainRequest) for a whole file of content type
// ctype (not empty) with the headers and body net/http.ServeContent sends for it: Etag,
// Last-Modified, Content-Type, Accept-Ranges, Content-Length (unless a Content-Encoding
// is set), status 200 and, but for HEAD, the body: m's content, else size bytes of rs.
func serveWhole(w http.ResponseWriter, r *http.Request, m *fileMeta, ctype string, rs io.Reader, size int64) {
	hdr := w.Header()
	vals := new([5]string) // one allocation for the header values
	vals[0], vals[1], vals[2], vals[3] = m.etag, ctype, "bytes", m.length
	hdr["Etag"] = vals[0:1:1]
	hdr["Content-Type"] = vals[1:2:2]
	hdr["Accept-Ranges"] = vals[2:3:3]
	if len(hdr["Content-Encoding"]) == 0 || hdr.Get("Content-Encoding") == "" {
		hdr["Content-Length"] = vals[3:4:4]
	}
	if m.lastModified != "" {
		vals[4] = m.lastModified
		hdr["Last-Modified"] = vals[4:5:5]
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
