package h3srv

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge/internal/httpdate"
)

// writeBufSize is the response buffer's capacity for body bytes: a body up to this size
// written before the handler ends leaves with its HEADERS frame in one stream write, with
// a Content-Length.
const writeBufSize = 16 << 10

// headRoom is room kept in front of the buffered body for the HEADERS frame and the DATA
// frame's header, so that all three go out as one contiguous write.
const headRoom = 2 << 10

// writeBufs recycles response buffers.
var writeBufs = sync.Pool{New: func() any { return new([headRoom + writeBufSize]byte) }}

// errWriteAfterRelease is a write after the handler returned (its bug).
var errWriteAfterRelease = errors.New("h3srv: response written after its handler returned")

// responseWriter is a request's http.ResponseWriter. The final status's field section is
// encoded at WriteHeader (see secStart) and leaves with the first body bytes (Flush, a
// full buffer, or the handler's end), so that Content-Length, Content-Type sniffing and
// trailer declarations are those of net/http's servers.
type responseWriter struct {
	st         *stream
	header     http.Header
	status     int   // the final status; 0 until WriteHeader
	headerSent bool  // its HEADERS frame went to the stream
	isHead     bool  // the request's method is HEAD: no body is sent
	clen       int64 // the Content-Length the handler declared, or -1
	written    int64 // body bytes the handler wrote
	buf        *[headRoom + writeBufSize]byte
	n          int // body bytes buffered at buf[headRoom:]
	trailers   []string
	sec        []byte      // the final status's field section, from WriteHeader until it leaves
	sniffed    bool        // Content-Type set by the handler (or Content-Encoding), or sniffed
	err        error       // a stream write failed: later writes fail too
	wrote      bool        // something was written to the stream
	hold       bool        // the handler returned: keep a last write in held (batch.go)
	held       []byte      // the response's last write, kept for the connection's batch
	deadline   time.Time   // the writes' deadline (WriteTimeout, or the handler's); zero: none
	released   atomic.Bool // the handler returned and the buffer went back to its pool
}

// newResponseWriter returns st's response writer, with a pooled buffer.
func newResponseWriter(st *stream, isHead bool) responseWriter {
	return responseWriter{st: st, header: make(http.Header, 8), isHead: isHead,
		buf: writeBufs.Get().(*[headRoom + writeBufSize]byte)}
}

// Header implements http.ResponseWriter.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter. A 1xx status is sent at once with the
// current header; the first final status is kept, later ones are ignored.
func (w *responseWriter) WriteHeader(code int) {
	if w.status != 0 || w.released.Load() {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("h3srv: invalid WriteHeader code %v", code))
	}
	if code < 200 {
		if code != http.StatusSwitchingProtocols {
			w.sendInformational(code)
		}
		return
	}
	w.status = code
	w.clen = -1
	if v := w.header.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseUint(v, 10, 63); err == nil {
			w.clen = int64(n)
		} else {
			w.header.Del("Content-Length")
		}
	}
	w.trailers = trailerNames(w.header["Trailer"])
	_, typed := w.header["Content-Type"]
	w.sniffed = typed || w.header.Get("Content-Encoding") != ""
	w.sec = appendSection(w.buf[secStart:secStart:secEnd], code, w.header, w.excluded)
	if _, ok := w.header["Date"]; !ok {
		w.sec = appendField(w.sec, "date", httpdate.String())
	}
}

// The final status's field section is encoded at WriteHeader, as net/http's servers take
// a snapshot of the header then: changes the handler makes afterwards do not reach the
// client (trailers aside). It is encoded into the head room, in front of the buffered
// body, from secStart to at most secEnd (the room for the HEADERS and DATA frame headers
// kept on both sides), and moved next to the body when it leaves; a larger one is encoded
// on the heap and written on its own. A sniffed Content-Type and the Content-Length of a
// body written whole are appended to it when they are known.
const (
	secStart = maxFrameHeaderLen
	secEnd   = headRoom - maxFrameHeaderLen
)

// sendInformational writes a 1xx response's HEADERS frame.
func (w *responseWriter) sendInformational(code int) {
	if w.err != nil {
		return
	}
	w.write(headersFrame(w.buf[:0], code, w.header, connectionSpecific))
}

// bodyAllowed reports whether the status permits a body.
func (w *responseWriter) bodyAllowed() bool {
	return w.status != http.StatusNoContent && w.status != http.StatusNotModified
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.released.Load() {
		return 0, errWriteAfterRelease
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.clen >= 0 && w.written+int64(len(p)) > w.clen {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.isHead {
		return len(p), nil
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.n+len(p) <= writeBufSize {
		w.n += copy(w.buf[headRoom+w.n:], p)
		return len(p), nil
	}
	if !w.headerSent && w.n == 0 {
		w.sniff(p) // the first write, too large to buffer: sniffed as net/http sniffs it
	}
	if err := w.flush(); err != nil {
		return 0, err
	}
	if len(p) <= writeBufSize/2 {
		w.n = copy(w.buf[headRoom:], p)
		return len(p), nil
	}
	if err := w.write(appendFrameHeader(w.buf[:0], frameData, uint64(len(p))), p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flush sends the HEADERS frame if not yet sent and the buffered body as a DATA frame,
// in one stream write when the HEADERS frame fits the buffer's head room.
func (w *responseWriter) flush() error {
	if w.err != nil {
		return w.err
	}
	start := headRoom
	if w.n > 0 {
		var dh [maxFrameHeaderLen]byte
		h := appendFrameHeader(dh[:0], frameData, uint64(w.n))
		start -= len(h)
		copy(w.buf[start:], h)
	}
	if !w.headerSent {
		w.sniff(w.buf[headRoom : headRoom+w.n])
		w.headerSent = true
		if err := w.placeHeaders(&start); err != nil {
			return err
		}
	}
	end := headRoom + w.n
	w.n = 0
	if start == end {
		return nil
	}
	return w.write(w.buf[start:end])
}

// placeHeaders puts the HEADERS frame in front of *start (moving it) when its section
// was encoded in the head room, or writes it to the stream on its own.
func (w *responseWriter) placeHeaders(start *int) error {
	sec := w.sec
	w.sec = nil
	n := len(sec)
	if cap(sec) == 0 || &sec[:1][0] != &w.buf[secStart] || n+maxFrameHeaderLen > *start {
		return w.write(appendFrameHeader(nil, frameHeaders, uint64(n)), sec)
	}
	*start -= n
	copy(w.buf[*start:], sec)
	var fh [maxFrameHeaderLen]byte
	h := appendFrameHeader(fh[:0], frameHeaders, uint64(n))
	*start -= len(h)
	copy(w.buf[*start:], h)
	return nil
}

// sniff adds a Content-Type detected from the body's first bytes when the handler set
// none (nor a Content-Encoding), as net/http does.
func (w *responseWriter) sniff(body []byte) {
	if len(body) == 0 || w.isHead || w.sniffed {
		return
	}
	w.sniffed = true
	w.sec = appendField(w.sec, "content-type", http.DetectContentType(body))
}

// excluded reports whether header k stays out of the response's HEADERS frame: trailers
// (declared or with http.TrailerPrefix), connection-specific fields, and a 204's
// Content-Length.
func (w *responseWriter) excluded(k string) bool {
	if connectionSpecific(k) || strings.HasPrefix(k, http.TrailerPrefix) {
		return true
	}
	if k == "Content-Length" && w.status == http.StatusNoContent { // RFC 9110 section 8.6
		return true
	}
	return slices.Contains(w.trailers, k)
}

// write writes bs to the stream in turn, remembering a failure. Once the handler
// returned (hold), a last write small enough to leave without waiting is kept in held
// instead, for the connection's batch.
func (w *responseWriter) write(bs ...[]byte) error {
	for _, b := range bs {
		if w.hold && !w.wrote && w.held == nil && len(bs) == 1 && len(b) <= maxHeldWrite {
			w.held = b
			continue
		}
		if err := w.writeHeld(); err != nil {
			return err
		}
		w.streamWrite(b)
	}
	return w.err
}

// writeHeld writes the held last write, if any: quic-go takes it without waiting (see
// maxHeldWrite), so WriteByteTimeout has nothing to bound.
func (w *responseWriter) writeHeld() error {
	if b := w.held; b != nil && w.err == nil {
		w.held = nil
		w.wrote = true
		_, w.err = w.st.str.Write(b)
	}
	return w.err
}

// streamWrite writes b to the stream unless a write failed before, remembering a failure;
// with Server.WriteByteTimeout, in stretches of writeChunk bytes, each within it.
func (w *responseWriter) streamWrite(b []byte) {
	if w.err != nil {
		return
	}
	w.wrote = true
	d := w.st.c.srv.WriteByteTimeout
	if d <= 0 {
		_, w.err = w.st.str.Write(b)
		return
	}
	for len(b) > 0 && w.err == nil {
		n := min(len(b), writeChunk)
		dl := time.Now().Add(d)
		if !w.deadline.IsZero() && w.deadline.Before(dl) {
			dl = w.deadline
		}
		w.st.str.SetWriteDeadline(dl)
		_, w.err = w.st.str.Write(b[:n])
		b = b[n:]
	}
}

// writeChunk is the stretch of a response that must leave within WriteByteTimeout.
const writeChunk = 16 << 10

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { w.FlushError() }

// FlushError sends the header and what is buffered, for http.ResponseController.
func (w *responseWriter) FlushError() error {
	if w.released.Load() {
		return errWriteAfterRelease
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.flush()
}

// SetReadDeadline sets the request stream's read deadline, for http.ResponseController.
func (w *responseWriter) SetReadDeadline(t time.Time) error { return w.st.str.SetReadDeadline(t) }

// SetWriteDeadline sets the stream's write deadline, for http.ResponseController (and
// WriteTimeout); WriteByteTimeout's deadlines never go past it.
func (w *responseWriter) SetWriteDeadline(t time.Time) error {
	w.deadline = t
	return w.st.str.SetWriteDeadline(t)
}

// EnableFullDuplex is for http.ResponseController: HTTP/3 request bodies can be read
// while the response is written.
func (w *responseWriter) EnableFullDuplex() error { return nil }

// finish completes the response after the handler returned: the header (with a
// Content-Length when the whole body is buffered), the body, the trailers. It returns an
// error when the response cannot be completed: the stream is then reset.
func (w *responseWriter) finish() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headerSent && w.clen < 0 && w.bodyAllowed() && len(w.trailers) == 0 && (!w.isHead || w.written > 0) {
		var digits [20]byte
		w.sec = appendField(w.sec, "content-length", string(strconv.AppendInt(digits[:0], w.written, 10)))
	}
	if err := w.flush(); err != nil {
		return err
	}
	if w.clen >= 0 && w.written < w.clen && !w.isHead && w.bodyAllowed() {
		return fmt.Errorf("h3srv: handler wrote %d of the %d bytes it declared", w.written, w.clen)
	}
	return w.sendTrailers()
}

// sendTrailers sends the trailer section, if the handler declared or set trailers.
func (w *responseWriter) sendTrailers() error {
	var tr http.Header
	for k, vv := range w.header {
		name, ok := strings.CutPrefix(k, http.TrailerPrefix)
		if !ok {
			if !slices.Contains(w.trailers, k) {
				continue
			}
			name = k
		}
		if tr == nil {
			tr = make(http.Header)
		}
		tr[http.CanonicalHeaderKey(name)] = vv
	}
	if tr == nil {
		return nil
	}
	if err := w.writeHeld(); err != nil { // the trailers are encoded where it is
		return err
	}
	return w.write(headersFrame(w.buf[:0], 0, tr, connectionSpecific))
}

// release returns the buffer to its pool; later writes fail.
func (w *responseWriter) release() {
	w.released.Store(true)
	if w.buf != nil {
		writeBufs.Put(w.buf)
		w.buf = nil
	}
}
