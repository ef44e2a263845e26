package edge

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge/internal/reqcancel"
	"golang.org/x/net/http/httpguts"
)

// h1Response is the http.ResponseWriter of edge's HTTP/1.1 loop (h1conn.go). It writes
// what net/http's server writes for the same handler calls: the status line and headers
// decided when the first body bytes (or the end of the handler) reach the connection
// (Content-Length for a small body written at once, else chunked; Content-Type sniffed
// when unset; Date; Connection: close), informational responses at once, trailers after
// a chunked body. The logic is net/http's chunkWriter.writeHeader's, kept in the same
// order so that the differential test (h1diff_test.go) finds no difference.
type h1Response struct {
	c    *h1Conn
	req  *http.Request
	ctx  h1ReqCtx       // req's context
	hook reqcancel.Hook // runs a function when ctx ends (reqcancel.AfterFunc)

	header       http.Header // the handler's (Header); nil after a hand-off, until Header
	snap         http.Header // header as it was at WriteHeader; nil until then
	calledHdr    bool
	handOff      bool // WriteHeader takes header itself as snap (HandOffHeader)
	snapHandOff  bool // snap is the handler's map, handed off (reused by the next response)
	wroteHeader  bool // WriteHeader called (logically)
	headSent     bool // the status line and header went to c.bw
	chunking     bool
	handlerDone  bool
	closeAfter   bool    // close the connection after this response
	body         *h1Body // the request's body; nil if none
	bodyLimitHit bool    // the body left was too large to read: closeWriteAndWait
	fullDuplex   bool
	status       int
	clen         int64 // the declared Content-Length, or -1
	written      int64
	trailers     []string

	w        *bufio.Writer // bufferBeforeChunking bytes in front of bodyWriter
	bw       h1BodyWriter
	clenBuf  [20]byte
	released atomic.Bool // w went back to the pool: later writes fail
	cnMu     sync.Mutex
	cn       closeNotify

	state      requestState // serveTLS's for this response (requestStateFor)
	stateTaken bool
}

// errWriteAfterRelease is what a write after the handler returned (its bug) gets.
var errWriteAfterRelease = errors.New("edge: response written after its handler returned")

// bufferBeforeChunking is net/http's bufferBeforeChunkingSize: a body up to this size
// written before the handler ends gets a Content-Length.
const bufferBeforeChunking = 2048

// chunkBufs recycles the responses' buffers (net/http's pool of bufio.Writers). The
// response itself is new per request, and once its buffer is back in the pool its writes
// fail (errWriteAfterRelease): a handler's goroutine writing after the handler returned (a
// bug) gets an error instead of writing into another request's response. Only a write
// racing with the release itself can still slip through, as with net/http's server.
var chunkBufs = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufferBeforeChunking) }}

// h1Exchange is one request's response and, when parseSimpleHead read its header, the
// request's storage (simpleRequest): one allocation for both instead of two. It is new
// per request, as each of them was, so neither outlives the other's use.
type h1Exchange struct {
	w  h1Response
	sr simpleRequest
}

// newH1Response returns a response for req on c: in the h1Exchange readHead made for
// req, if it made one.
func newH1Response(c *h1Conn, req *http.Request) *h1Response {
	hdr := c.spareHdr
	if hdr == nil {
		hdr = make(http.Header)
	}
	c.spareHdr = nil
	var w *h1Response
	if x := c.next; x != nil {
		c.next = nil
		w = &x.w
	} else {
		w = new(h1Response)
	}
	w.c, w.req, w.clen, w.header = c, req, -1, hdr
	w.body, _ = req.Body.(*h1Body)
	w.bw.r = w
	w.w = chunkBufs.Get().(*bufio.Writer)
	w.w.Reset(&w.bw)
	// What the client asked for, read before the handler may change the request.
	w.closeAfter = req.Close || hasWord(headerGet(req.Header, "Connection"), "close")
	return w
}

// release returns w's buffer to the pool, once the response is finished or abandoned
// (net/http's finishRequest does the same with its buffer).
func (w *h1Response) release() {
	w.released.Store(true)
	w.c.dropRecordBuf()
	w.w.Reset(nil)
	chunkBufs.Put(w.w)
}

// Header implements http.ResponseWriter.
func (w *h1Response) Header() http.Header {
	if w.header == nil { // handed off at WriteHeader
		w.header = make(http.Header)
	}
	if w.snap == nil && w.wroteHeader && !w.headSent {
		w.snap = w.c.cloneHeader(w.header)
	}
	w.calledHdr = true
	return w.header
}

// WriteHeader implements http.ResponseWriter.
func (w *h1Response) WriteHeader(code int) {
	if w.c.hijacked.Load() {
		w.c.logf("http: response.WriteHeader on hijacked connection")
		return
	}
	if w.wroteHeader {
		w.c.logf("http: superfluous response.WriteHeader call")
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	w.wroteHeader, w.status = true, code
	handOff := w.handOff && w.calledHdr && w.snap == nil
	if w.calledHdr && w.snap == nil && !handOff {
		w.snap = w.c.cloneHeader(w.header)
	}
	if cl := headerGet(w.header, "Content-Length"); cl != "" {
		v, err := strconv.ParseInt(cl, 10, 64)
		if err == nil && v >= 0 {
			w.clen = v
		} else {
			w.c.logf("http: invalid Content-Length of %q", cl)
			w.header.Del("Content-Length")
		}
	}
	if handOff {
		w.snap, w.header = w.header, nil
		w.snapHandOff = true
	}
}

// HandOffHeader is the handler's promise not to use the header map Header returned once
// it has written the final status: WriteHeader then takes that map as the response's
// header instead of a copy, and Header afterwards returns a new one (as h2srv's).
func (w *h1Response) HandOffHeader() { w.handOff = true }

// writeInformational writes a 1xx response (not 101) at once, with the header as it is.
func (w *h1Response) writeInformational(code int) {
	bw := w.c.bw
	writeStatusLine(bw, code)
	w.c.hdrKeys = writeHeader(bw, w.header, excludedNoBody, w.c.hdrKeys)
	bw.WriteString("\r\n")
	bw.Flush()
}

var excludedNoBody = map[string]bool{"Content-Length": true, "Transfer-Encoding": true}

// Write implements http.ResponseWriter.
func (w *h1Response) Write(p []byte) (int, error) {
	if w.c.hijacked.Load() {
		if len(p) > 0 {
			w.c.logf("http: response.Write on hijacked connection")
		}
		return 0, http.ErrHijacked
	}
	if w.released.Load() {
		return 0, errWriteAfterRelease
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.clen != -1 && w.written > w.clen {
		return 0, http.ErrContentLength
	}
	return w.w.Write(p)
}

// WriteString implements io.StringWriter.
func (w *h1Response) WriteString(s string) (int, error) {
	if w.c.hijacked.Load() {
		if len(s) > 0 {
			w.c.logf("http: response.Write on hijacked connection")
		}
		return 0, http.ErrHijacked
	}
	if w.released.Load() {
		return 0, errWriteAfterRelease
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(s) == 0 {
		return 0, nil
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(s))
	if w.clen != -1 && w.written > w.clen {
		return 0, http.ErrContentLength
	}
	return w.w.WriteString(s)
}

// copyBufs recycles ReadFrom's buffers.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// ReadFrom implements io.ReaderFrom with a pooled buffer (io.Copy would allocate one).
func (w *h1Response) ReadFrom(src io.Reader) (int64, error) {
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	return io.CopyBuffer(writerOnly{w}, src, *buf)
}

type writerOnly struct{ io.Writer }

// cloneHeader returns a copy of h in the connection's snapshot map and values, reused
// request after request (the snapshot never leaves the response, which is done with it
// before the next request): what net/http's Header.Clone does, without its allocations.
func (c *h1Conn) cloneHeader(h http.Header) http.Header {
	m := c.snapMap
	if m == nil {
		m = make(http.Header, len(h))
		c.snapMap = m
	} else {
		clear(m)
	}
	n := 0
	for _, vv := range h {
		n += len(vv)
	}
	if cap(c.snapVals) < n {
		c.snapVals = make([]string, n)
	}
	vals := c.snapVals[:n]
	for k, vv := range h {
		if vv == nil {
			m[k] = nil
			continue
		}
		k2 := copy(vals, vv)
		m[k] = vals[:k2:k2]
		vals = vals[k2:]
	}
	return m
}

// FlushError sends what is buffered, for http.ResponseController.
func (w *h1Response) FlushError() error {
	if w.released.Load() {
		return errWriteAfterRelease
	}
	if w.c.hijacked.Load() {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	err := w.w.Flush()
	if !w.headSent {
		w.writeHead(nil)
	}
	if e2 := w.c.bw.Flush(); err == nil {
		err = e2
	}
	return err
}

// Flush implements http.Flusher.
func (w *h1Response) Flush() { _ = w.FlushError() }

// SetReadDeadline is for http.ResponseController.
func (w *h1Response) SetReadDeadline(t time.Time) error { return w.c.tc.SetReadDeadline(t) }

// SetWriteDeadline is for http.ResponseController.
func (w *h1Response) SetWriteDeadline(t time.Time) error {
	w.c.wdSet = true
	return w.c.tc.SetWriteDeadline(t)
}

// EnableFullDuplex is for http.ResponseController: the body the handler left is not read
// before the response's head.
func (w *h1Response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

// finish ends the response after the handler returned (net/http's finishRequest).
func (w *h1Response) finish() {
	w.handlerDone = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.w.Flush()
	if !w.headSent {
		w.writeHead(nil)
	}
	if w.chunking {
		bw := w.c.bw
		bw.WriteString("0\r\n")
		if t := w.finalTrailers(); t != nil {
			t.Write(bw)
		}
		bw.WriteString("\r\n")
	}
	w.c.bw.Flush()
	if w.snapHandOff { // the head is written: the map is the connection's again
		clear(w.snap)
		w.c.spareHdr, w.snap, w.snapHandOff = w.snap, nil, false
	}
}

// reusable reports whether the connection may serve another request after w.
func (w *h1Response) reusable() bool {
	if w.closeAfter || w.c.werr != nil || (w.body != nil && w.body.closedEarly()) {
		return false
	}
	return w.req.Method == http.MethodHead || w.clen == -1 || !bodyAllowedForStatus(w.status) || w.clen == w.written
}

func (w *h1Response) declareTrailer(k string) {
	k = http.CanonicalHeaderKey(k)
	if httpguts.ValidTrailerHeader(k) {
		w.trailers = append(w.trailers, k)
	}
}

func (w *h1Response) finalTrailers() http.Header {
	var t http.Header
	for k, vv := range w.header {
		if kk, found := strings.CutPrefix(k, http.TrailerPrefix); found {
			if t == nil {
				t = make(http.Header)
			}
			t[kk] = vv
		}
	}
	for _, k := range w.trailers {
		if t == nil {
			t = make(http.Header)
		}
		for _, v := range w.header[k] {
			t.Add(k, v)
		}
	}
	return t
}

// h1BodyWriter is what the response's buffer flushes into: it writes the head first,
// then the bytes, framed as chunks when chunking (net/http's chunkWriter).
type h1BodyWriter struct{ r *h1Response }

// Write implements io.Writer.
func (cw *h1BodyWriter) Write(p []byte) (n int, err error) {
	w := cw.r
	if !w.headSent {
		w.useRecordBuf()
		w.writeHead(p)
	}
	if w.req.Method == http.MethodHead {
		return len(p), nil
	}
	bw := w.c.bw
	if w.chunking {
		var hex [16]byte
		bw.Write(strconv.AppendInt(hex[:0], int64(len(p)), 16))
		_, err = bw.WriteString("\r\n")
		if err != nil {
			w.c.tc.Close()
			return 0, err
		}
	}
	n, err = bw.Write(p)
	if w.chunking && err == nil {
		_, err = bw.WriteString("\r\n")
	}
	if err != nil {
		w.c.tc.Close()
	}
	return n, err
}

func bodyAllowedForStatus(status int) bool {
	switch {
	case status >= 100 && status <= 199, status == 204, status == 304:
		return false
	}
	return true
}

// statusLines holds the status line of every code with a status text (net/http's),
// made once: one buffered write per response instead of seven.
var statusLines = func() (lines [600]string) {
	for code := range lines {
		if text := http.StatusText(code); text != "" { // code is 100-599: three digits
			lines[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
		}
	}
	return lines
}()

// writeStatusLine writes an HTTP/1.1 status line to bw.
func writeStatusLine(bw *bufio.Writer, code int) {
	if code >= 0 && code < len(statusLines) && statusLines[code] != "" {
		bw.WriteString(statusLines[code])
		return
	}
	bw.WriteString("HTTP/1.1 ")
	code3 := strconv.Itoa(code)
	for len(code3) < 3 {
		code3 = "0" + code3
	}
	bw.WriteString(code3 + " status code " + strconv.Itoa(code) + "\r\n")
}
