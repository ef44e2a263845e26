package h3srv

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http/httpguts"
)

// requestBody is a request's body: the payload of the DATA frames on its stream, then its
// trailers (a HEADERS frame after them, decoded into the request's Trailer). Unknown
// frame types are skipped. A declared Content-Length is enforced (RFC 9114 section
// 4.1.2). Errors reset the stream (or close the connection) with the code RFC 9114 gives
// them; the handler's Read gets the error. A read that times out (a deadline set through
// http.ResponseController) leaves the stream as it is, so that the handler can answer.
type requestBody struct {
	st     *stream
	mu     sync.Mutex  // a Read against another and against the stream's release
	remain uint64      // payload left in the current DATA frame
	read   int64       // payload bytes read
	clen   int64       // the declared content-length, or -1
	err    error       // sticky: io.EOF at the end, or what went wrong
	closed atomic.Bool // Close, or the handler returned: reads fail, no longer the client's doing
	done   atomic.Bool // the stream's read side was read to its end
}

// errBodyClosed is a read after Close.
var errBodyClosed = errors.New("h3srv: read on closed request body")

// Read implements io.Reader.
func (b *requestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed.Load():
		return 0, errBodyClosed
	case b.err != nil:
		return 0, b.err
	case len(p) == 0:
		return 0, nil
	}
	n, err := b.readLocked(p)
	switch {
	case err == io.EOF:
		b.done.Store(true)
		b.err = err
	case err != nil && !isTimeout(err):
		b.err = err
	}
	return n, err
}

// isTimeout reports whether err is a read deadline's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readLocked reads payload, moving to the next DATA frame as needed.
func (b *requestBody) readLocked(p []byte) (int, error) {
	for b.remain == 0 {
		if err := b.nextFrame(); err != nil {
			return 0, err
		}
	}
	if uint64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.st.fr.Read(p)
	b.remain -= uint64(n)
	b.read += int64(n)
	if cl := b.clen; cl >= 0 && b.read > cl {
		return n, b.st.streamError(codeMessageError, errors.New("h3srv: request body longer than its content-length"))
	}
	if err != nil && n == 0 {
		return 0, b.st.fail(truncated(err))
	}
	return n, nil
}

// nextFrame reads the next frame header: a DATA frame sets remain; trailers end the body
// (io.EOF); unknown frames are skipped.
func (b *requestBody) nextFrame() error {
	fr := &b.st.fr
	typ, length, err := fr.header()
	switch {
	case err == io.EOF:
		return b.end()
	case err != nil:
		return b.st.fail(err)
	}
	switch {
	case typ == frameData:
		b.remain = length
		return nil
	case typ == frameHeaders:
		return b.trailers(length)
	case notOnRequestStream(typ):
		return b.st.c.connError(codeFrameUnexpected, fmt.Sprintf("frame type %#x on a request stream", typ))
	}
	if err := fr.discard(length); err != nil {
		return b.st.fail(err)
	}
	return nil
}

// end is the stream's end after a whole frame: io.EOF, unless fewer bytes came than
// the content-length said.
func (b *requestBody) end() error {
	if cl := b.clen; cl >= 0 && b.read != cl {
		return b.st.streamError(codeMessageError, errors.New("h3srv: request body shorter than its content-length"))
	}
	return io.EOF
}

// trailers decodes the trailer section (a HEADERS frame of length n after the body) into
// the request's Trailer; the stream must end after it.
func (b *requestBody) trailers(n uint64) error {
	st := b.st
	if n > uint64(st.c.srv.maxHeaderBytes()) {
		return st.streamError(codeExcessiveLoad, errHeaderTooLarge)
	}
	block, err := st.fr.block(int(n))
	if err != nil {
		return st.fail(err)
	}
	tr, err := decodeTrailers(block, st.c.srv.maxHeaderBytes(), &st.c.huff)
	if err != nil {
		return st.apply(err)
	}
	if err := b.afterTrailers(); err != nil {
		return err
	}
	if st.req.Trailer == nil {
		st.req.Trailer = tr
	} else {
		for k, vv := range tr {
			st.req.Trailer[k] = vv
		}
	}
	return b.end()
}

// afterTrailers reads what follows the trailers: only frames of unknown types may, until
// the stream ends.
func (b *requestBody) afterTrailers() error {
	fr := &b.st.fr
	for {
		typ, length, err := fr.header()
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return b.st.fail(err)
		case knownFrame(typ):
			return b.st.c.connError(codeFrameUnexpected, fmt.Sprintf("frame type %#x after the trailers", typ))
		}
		if err := fr.discard(length); err != nil {
			return b.st.fail(err)
		}
	}
}

// decodeTrailers decodes a trailer section: regular fields only.
func decodeTrailers(block []byte, limit int, cache *huffCache) (http.Header, error) {
	d, err := decodeSection(block, limit, cache)
	if err != nil {
		return nil, err
	}
	defer d.release()
	for _, f := range d.fields {
		if len(f.name) > 0 && f.name[0] == ':' {
			return nil, errMalformed("pseudo-header field in trailers")
		}
	}
	tr, err := buildHeader(d.fields, len(d.fields))
	if err != nil {
		return nil, err
	}
	for k := range tr {
		if !httpguts.ValidTrailerHeader(k) {
			return nil, errMalformed("trailer field " + k)
		}
	}
	return tr, nil
}

// Close implements io.Closer: later reads fail, and the client is asked to stop sending
// what is left (STOP_SENDING with H3_NO_ERROR, RFC 9114 section 4.1), which also ends a
// read under way in another goroutine.
func (b *requestBody) Close() error {
	b.closed.Store(true)
	b.stopReading()
	return nil
}

// stopReading aborts the stream's read side unless it was read to its end: quic-go
// completes a stream (and gives the client its credit back) once both sides have ended.
func (b *requestBody) stopReading() {
	if !b.done.Load() {
		b.st.str.CancelRead(codeNoError.stream())
	}
}

// release stops further reads (the handler has returned), waits for a read under way
// (stopReading has ended it) and returns the stream's read buffer to its pool.
func (b *requestBody) release() {
	b.closed.Store(true)
	b.mu.Lock()
	b.st.fr.release()
	b.mu.Unlock()
}
