package h3srv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/edgectl/edge/edge/internal/reqcancel"
	"github.com/quic-go/quic-go"
	"golang.org/x/net/http/httpguts"
)

// stream is one request stream's state, in one allocation: the request, its body, its
// context, and the response writer.
type stream struct {
	c    *conn
	str  *quic.Stream
	fr   frameReader
	head http.Request  // the request as read, before its context is set
	req  *http.Request // the handler's: head with the context
	url  url.URL       // head's URL, when its path is simple
	body requestBody
	ctx  reqCtx
	hook reqcancel.Hook // the proxy's abort (reqcancel.AfterFunc), fired when ctx ends
	w    responseWriter
	stop func() bool // unregisters the end of ctx from the stream's context; nil until armed (watch.go)

	started  time.Time // when the handler was about to run (watch.go)
	watchIdx int       // index in the connection's running requests, or -1
}

// serveStream serves the request on str, on a worker's goroutine.
func (c *conn) serveStream(str *quic.Stream) {
	st := &stream{c: c, str: str}
	st.fr.init(str)
	if err := st.readRequest(); err != nil {
		defer c.streamDone()
		defer st.fr.release()
		defer str.ReleaseStreamCredit()
		st.refuse(err)
		return
	}
	st.prepare()
	returned := false
	defer func() { st.end(!returned) }() // also after a runtime.Goexit in the handler
	returned = st.run()
}

// readRequest reads the request's HEADERS frame into st.req (skipping unknown frames
// before it), within Server.ReadHeaderTimeout; the rest of the request then has what is
// left of Server.ReadTimeout.
func (st *stream) readRequest() error {
	srv := st.c.srv
	if srv.ReadHeaderTimeout > 0 || srv.ReadTimeout > 0 {
		start := time.Now()
		if d := srv.ReadHeaderTimeout; d > 0 && (srv.ReadTimeout <= 0 || d < srv.ReadTimeout) {
			st.str.SetReadDeadline(start.Add(d))
		} else {
			st.str.SetReadDeadline(start.Add(srv.ReadTimeout))
		}
		defer st.bodyDeadline(start)
	}
	limit := st.c.srv.maxHeaderBytes()
	for {
		typ, length, err := st.fr.header()
		if err != nil {
			return readErr(err)
		}
		switch {
		case typ == frameHeaders:
			if length > uint64(limit) {
				return errHeaderTooLarge
			}
			block, err := st.fr.block(int(length))
			if err != nil {
				return readErr(err)
			}
			return decodeRequest(&st.head, &st.url, block, limit, &st.c.huff)
		case typ == frameData || notOnRequestStream(typ):
			return connErr{codeFrameUnexpected, fmt.Sprintf("frame type %#x before a request's HEADERS", typ)}
		}
		if err := st.fr.discard(length); err != nil {
			return readErr(err)
		}
	}
}

// readErr is the error of a request stream whose reading failed: a frame truncated by the
// stream's end is a connection error H3_FRAME_ERROR (RFC 9114 section 7.1), anything
// else (a reset, a timeout) the stream's H3_REQUEST_INCOMPLETE.
func readErr(err error) error {
	if err == errFrameTruncated {
		return connErr{codeFrameError, "truncated frame on a request stream"}
	}
	return streamErr{codeRequestIncomplete, err}
}

// fail is a body read's failure applied as readErr decides (the stream reset or the
// connection closed) and returned for the body's reader; a read the server stopped or a
// timeout (the handler's deadline: it answers, 408 say) leaves the stream as it is.
func (st *stream) fail(err error) error {
	switch {
	case st.body.closed.Load():
		return errBodyClosed
	case isTimeout(err):
		return err
	}
	return st.apply(readErr(err))
}

// bodyDeadline sets the read deadline of the request's body: ReadTimeout after the
// stream's start (0: none).
func (st *stream) bodyDeadline(start time.Time) {
	var t time.Time
	if d := st.c.srv.ReadTimeout; d > 0 {
		t = start.Add(d)
	}
	st.str.SetReadDeadline(t)
}

// streamErr is a stream error with its code; connErr a connection error.
type (
	streamErr struct {
		code errCode
		err  error
	}
	connErr struct {
		code   errCode
		reason string
	}
)

func (e streamErr) Error() string {
	return fmt.Sprintf("h3srv: stream error %#x: %v", uint64(e.code), e.err)
}
func (e streamErr) Unwrap() error { return e.err }
func (e connErr) Error() string {
	return fmt.Sprintf("h3srv: connection error %#x: %s", uint64(e.code), e.reason)
}

// refuse answers a request that could not be read: 431 for a header section too large,
// else the stream is reset (or the connection closed) with the error's code.
func (st *stream) refuse(err error) {
	if !errors.Is(err, errHeaderTooLarge) {
		st.apply(err)
		return
	}
	st.str.CancelRead(codeExcessiveLoad.stream())
	st.w = newResponseWriter(st, false)
	st.w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
	st.w.finish()
	st.w.release()
	st.str.Close()
}

// apply resets the stream or closes the connection as err says (RFC 9114 section 8.1:
// a connection error, a QPACK failure, a stream error, a section too large, a malformed
// message) and returns an error saying so.
func (st *stream) apply(err error) error {
	var se streamErr
	var ce connErr
	var qe *qpackError
	switch {
	case errors.As(err, &ce):
		return st.c.connError(ce.code, ce.reason)
	case errors.As(err, &qe):
		return st.c.connError(codeQPACKDecompressFailed, qe.Error())
	case errors.As(err, &se):
		return st.streamError(se.code, se.err)
	case errors.Is(err, errHeaderTooLarge):
		return st.streamError(codeExcessiveLoad, err)
	}
	return st.streamError(codeMessageError, err) // errMalformed
}

// reset aborts both directions of the stream with code.
func (st *stream) reset(code errCode) {
	st.str.CancelRead(code.stream())
	st.str.CancelWrite(code.stream())
}

// streamError resets the stream with code and returns err, for the handler's read.
func (st *stream) streamError(code errCode, err error) error {
	st.reset(code)
	return fmt.Errorf("h3srv: request body: %w", err)
}

// prepare completes the request (protocol, connection, body, context) and the response.
func (st *stream) prepare() {
	c, r := st.c, &st.head
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/3.0", 3, 0
	r.RemoteAddr, r.TLS = c.remoteAddr, c.tls
	ended := st.fr.ended() // the client ended the stream with its HEADERS frame
	st.body.st, st.body.clen = st, r.ContentLength
	st.body.done.Store(ended)
	declareTrailers(r)
	if r.ContentLength == 0 || (r.ContentLength < 0 && ended) {
		r.ContentLength = 0
		r.Body = http.NoBody
	} else {
		r.Body = &st.body
	}
	st.ctx = reqCtx{Context: c.base, st: st}
	st.req = r.WithContext(&st.ctx) // a copy: a request's context can only be set so
	r = st.req
	st.c.watch(st)
	st.w = newResponseWriter(st, r.Method == http.MethodHead)
	if d := c.srv.WriteTimeout; d > 0 {
		st.w.SetWriteDeadline(time.Now().Add(d))
	}
}

// declareTrailers moves the trailer names the request's Trailer header declares into its
// Trailer map (values nil until they arrive), as net/http's servers do.
func declareTrailers(r *http.Request) {
	vv, ok := r.Header["Trailer"]
	if !ok {
		return
	}
	for _, k := range trailerNames(vv) {
		if r.Trailer == nil {
			r.Trailer = make(http.Header)
		}
		r.Trailer[k] = nil
	}
	delete(r.Header, "Trailer")
}

// trailerNames returns the valid trailer names a Trailer header's values list, canonical.
func trailerNames(vv []string) []string {
	var names []string
	for _, v := range vv {
		for _, k := range strings.Split(v, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			if k != "" && httpguts.ValidTrailerHeader(k) {
				names = append(names, k)
			}
		}
	}
	return names
}

// abort ends the request's context: the client stopped the request, or the connection
// ended.
func (st *stream) abort() {
	if st.ctx.End(context.Canceled) {
		st.hook.Fire()
	}
}

// run calls the handler and reports whether it returned: false if it panicked (the
// panic is logged, as net/http does, unless it is http.ErrAbortHandler).
func (st *stream) run() (returned bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				st.c.srv.logger().Error("h3srv: panic serving", "remote", st.c.remoteAddr, "panic", p, "stack", string(buf))
			}
		}
	}()
	st.c.srv.Handler.ServeHTTP(&st.w, st.req)
	return true
}

// end finishes the stream after the handler: the request's reading stopped if its body
// was not read to the end and its buffer released; the response completed, its last
// write and the FIN left to the connection's batch (batch.go), or the stream reset (the
// handler did not return, or its response cannot be completed).
func (st *stream) end(aborted bool) {
	st.c.unwatch(st)
	st.body.closed.Store(true)
	st.body.stopReading() // also ends a read the handler left running
	st.body.release()
	if !aborted {
		st.w.hold = true
		aborted = st.w.finish() != nil
	}
	st.w.released.Store(true) // the handler's writes from now on fail
	if aborted {
		st.complete(true)
		return
	}
	st.c.completeBatched(st)
}

// complete ends the stream and reports whether its response completed: the response's
// held last write and the FIN sent, or the stream reset (and its credit released) if
// aborted or the write failed; the request's context ended; the write buffer released;
// the stream counted out. The credit of a completed response is the batch's to release.
func (st *stream) complete(aborted bool) (completed bool) {
	if aborted || st.w.writeHeld() != nil {
		st.reset(codeInternalError)
		st.str.ReleaseStreamCredit()
	} else {
		st.str.Close()
		completed = true
	}
	st.abort()
	st.w.release()
	st.c.streamDone()
	return completed
}
