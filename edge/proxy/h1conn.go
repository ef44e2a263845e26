package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"syscall"
	"time"

	"github.com/edgectl/edge/edge/internal/rawio"
	"github.com/edgectl/edge/edge/internal/reqcancel"
)

// h1Conn is one keep-alive connection of an h1Client, used by one request at a time.
type h1Conn struct {
	c         *h1Client
	conn      net.Conn
	br        *bufio.Reader   // reads through Read below
	bw        *bufio.Writer   // writes through connWriter
	raw       syscall.RawConn // conn's, for sendAndWait; nil: plain writes and reads
	send      bool            // the next write is a request's last: sendAndWait
	sw        sendWait
	rr        *rawio.Reader  // conn's raw reads; nil: conn.Read
	interrupt func()         // abort, for reqcancel.AfterFunc
	reused    bool           // it served an earlier request
	idleSince time.Time      // when it went back to the pool
	takenAt   time.Time      // when get took it from the pool for the request; zero: dialled
	limit     int64          // bytes the response headers may still take; -1 while reading a body
	nread     int64          // bytes read for the current request
	rerr      error          // the first read error: every later read returns it
	plain     *plainResponse // the response readPlain read last, until roundTrip takes it
}

// aLongTimeAgo is a deadline in the past: it interrupts the connection's reads and writes.
var aLongTimeAgo = time.Unix(1, 0)

// errHeaderTimeout is the Transport's response-header timeout, a timeout (504).
var errHeaderTimeout = headerTimeoutError{}

type headerTimeoutError struct{}

func (headerTimeoutError) Error() string { return "net/http: timeout awaiting response headers" }
func (headerTimeoutError) Timeout() bool { return true }

var errHeadersTooLarge = fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", maxResponseHeaderBytes)

func newH1Conn(c *h1Client, conn net.Conn) *h1Conn {
	pc := &h1Conn{c: c, conn: conn, limit: -1}
	pc.br = bufio.NewReaderSize(pc, 16<<10)
	pc.bw = bufio.NewWriterSize(connWriter{pc}, 4<<10)
	pc.raw = rawConnOf(conn)
	pc.rr = rawio.NewReader(conn)
	return pc
}

// connWriter is the connection as its bufio.Writer sees it: the flush that ends a request
// also waits for the response (sendAndWait).
type connWriter struct{ pc *h1Conn }

func (w connWriter) Write(p []byte) (int, error) {
	if pc := w.pc; pc.send && pc.raw != nil {
		pc.send = false
		return pc.sendAndWait(p)
	}
	return w.pc.conn.Write(p)
}

// Read is the connection as its bufio.Reader sees it: it counts the bytes of the current
// request and holds the response headers to maxResponseHeaderBytes.
func (pc *h1Conn) Read(p []byte) (int, error) {
	if pc.limit == 0 {
		return 0, errHeadersTooLarge
	}
	if pc.rerr != nil {
		// readPlainHead leaves the error it met for http.ReadResponse to meet again.
		return 0, pc.rerr
	}
	if pc.limit > 0 && int64(len(p)) > pc.limit {
		p = p[:pc.limit]
	}
	var n int
	var err error
	if pc.rr != nil {
		n, err = pc.rr.Read(p)
	} else {
		n, err = pc.conn.Read(p)
	}
	pc.rerr = err
	pc.nread += int64(n)
	if pc.limit > 0 {
		pc.limit -= int64(n)
	}
	return n, err
}

// roundTrip writes req (its head, when head is not nil) and reads the response headers.
// On success the response's body owns the connection: it goes back to the pool when the
// body ends cleanly. On error the caller closes the connection.
func (pc *h1Conn) roundTrip(req *http.Request, head *fwdHead) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pc.nread = 0
	// Cancelling the request (the client went away) interrupts whatever the connection
	// is doing, as the Transport does by closing it.
	if pc.interrupt == nil {
		pc.interrupt = pc.abort // made once: AfterFunc's argument escapes
	}
	// The h1 loop's hook when it serves the request (no allocation), else
	// context.AfterFunc.
	stop := reqcancel.AfterFunc(ctx, pc.interrupt)
	res, err := pc.exchange(ctx, req, head)
	if err == nil && pc.reused && res.StatusCode == http.StatusRequestTimeout {
		res.Body.Close()
		err = errStaleConn
	}
	if err != nil {
		stop.Stop()
		pc.plain = nil
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	body := pc.bodyFor(res)
	*body = h1Body{pc: pc, ctx: ctx, rc: res.Body, stop: stop,
		keep: !res.Close && (head != nil || !req.Close) && res.StatusCode != http.StatusSwitchingProtocols}
	if res.Body == lengthBody { // readPlainHead's: ContentLength bytes from pc.br
		body.rc, body.remaining = nil, res.ContentLength
	}
	if res.Body == http.NoBody {
		body.finish(true)
		return res, nil
	}
	res.Body = body
	return res, nil
}

// bodyFor returns the h1Body for res: the one allocated with it when readPlain read it,
// else a new one.
func (pc *h1Conn) bodyFor(res *http.Response) *h1Body {
	pr := pc.plain
	pc.plain = nil
	if pr != nil && &pr.res == res {
		return &pr.body
	}
	return new(h1Body)
}

// abort interrupts whatever the connection is doing.
func (pc *h1Conn) abort() { pc.conn.SetDeadline(aLongTimeAgo) }

// exchange writes req and reads its response headers within the header timeout.
func (pc *h1Conn) exchange(ctx context.Context, req *http.Request, head *fwdHead) (*http.Response, error) {
	if head != nil {
		if err := head.write(pc.bw); err != nil {
			return nil, err
		}
	} else if err := req.Write(pc.bw); err != nil {
		return nil, err
	}
	timeout := pc.c.headerTimeout
	early := timeout > 0 && pc.raw != nil
	if early {
		// sendAndWait waits within the header timeout: it starts just before the last
		// write instead of just after it; for a direct forward (a head, no body) on a
		// pooled connection, when get took it: the clock read a few µs before, only the
		// head written to pc.bw meanwhile.
		var start time.Time
		if head != nil {
			start = pc.takenAt
		}
		if start.IsZero() {
			start = time.Now()
		}
		pc.takenAt = time.Time{}
		if err := pc.setReadDeadline(ctx, start.Add(timeout)); err != nil {
			return nil, err
		}
	}
	pc.send = true
	err := pc.bw.Flush()
	pc.send = false
	if err != nil {
		return nil, err
	}
	if timeout > 0 && !early {
		if err := pc.setReadDeadline(ctx, time.Now().Add(timeout)); err != nil {
			return nil, err
		}
	}
	pc.limit = maxResponseHeaderBytes
	res, err := pc.readResponse(req, head)
	pc.limit = -1
	if timeout > 0 {
		// The header timeout ends; when nothing more is read for this response (its body
		// is buffered whole), the deadline is left to the next request, which sets its own.
		var err error
		if pc.bodyBuffered(res) {
			err = ctx.Err()
		} else {
			err = pc.setReadDeadline(ctx, time.Time{})
		}
		if err != nil && res != nil {
			res.Body.Close()
			return nil, err
		}
	}
	if err != nil && isTimeout(err) && ctx.Err() == nil {
		return nil, errHeaderTimeout
	}
	return res, err
}

// bodyBuffered reports whether reading res's body whole reads nothing from the
// connection: it has none, or all its bytes (readPlainHead's body) are in pc.br.
func (pc *h1Conn) bodyBuffered(res *http.Response) bool {
	return res != nil && (res.Body == http.NoBody ||
		res.Body == lengthBody && int64(pc.br.Buffered()) >= res.ContentLength)
}

// setReadDeadline sets the read deadline, unless the request is already cancelled: the
// cancellation's past deadline must not be undone.
func (pc *h1Conn) setReadDeadline(ctx context.Context, t time.Time) error {
	pc.conn.SetReadDeadline(t)
	return ctx.Err()
}

// readResponse reads the final response, passing informational (1xx) ones to the
// request's httptrace hook (ReverseProxy forwards them to the client), or for a direct
// forward (head not nil) to the client and then to the hook if any.
func (pc *h1Conn) readResponse(req *http.Request, head *fwdHead) (*http.Response, error) {
	for {
		var slot *plainResponse
		if head != nil {
			slot = head.plain
		}
		if pr := readPlain(pc.br, req, slot); pr != nil {
			if head != nil {
				head.plain = nil // used: a response after it (a retry's) gets its own
			}
			pc.plain = pr
			return &pr.res, nil
		}
		res, err := http.ReadResponse(pc.br, req)
		if err != nil {
			if pc.limit == 0 {
				err = errHeadersTooLarge
			}
			return nil, err
		}
		code := res.StatusCode
		if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			return res, nil
		}
		if head != nil {
			head.got1xx(code, res.Header)
			pc.limit = maxResponseHeaderBytes
		}
		if trace := httptrace.ContextClientTrace(req.Context()); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(res.Header)); err != nil {
				return nil, err
			}
			pc.limit = maxResponseHeaderBytes // the hook took that one
		}
	}
}

// retryable reports whether req, which failed with err on pc, may be sent again on
// another connection: pc was reused and the upstream closed it before answering.
func (pc *h1Conn) retryable(req *http.Request, err error) bool {
	if !pc.reused || req.Context().Err() != nil {
		return false
	}
	return errors.Is(err, errStaleConn) || (pc.nread == 0 && !isTimeout(err))
}

// h1Body is a response body read from an h1Conn.
type h1Body struct {
	pc        *h1Conn
	ctx       context.Context
	rc        io.ReadCloser // http.ReadResponse's body; nil: remaining bytes from pc.br
	remaining int64
	stop      reqcancel.Registration // unregisters the cancellation; false if it already ran
	keep      bool                   // the connection may serve another request after this body
	done      bool
}

var errReadClosedBody = errors.New("http: read on closed response body")

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, errReadClosedBody
	}
	var n int
	var err error
	if b.rc != nil {
		n, err = b.rc.Read(p)
	} else {
		n, err = b.readLength(p)
	}
	switch {
	case err == io.EOF:
		b.finish(true)
	case err != nil:
		b.finish(false)
		if cerr := b.ctx.Err(); cerr != nil {
			err = cerr
		}
	}
	return n, err
}

// readLength reads the body of a given length (readPlainHead's) as http.ReadResponse's
// body does: io.EOF with its last bytes, io.ErrUnexpectedEOF if the connection ends
// before.
func (b *h1Body) readLength(p []byte) (int, error) {
	if b.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.pc.br.Read(p)
	b.remaining -= int64(n)
	switch {
	case err == io.EOF && b.remaining > 0:
		err = io.ErrUnexpectedEOF
	case err == nil && b.remaining == 0:
		err = io.EOF
	}
	return n, err
}

// Close ends the body; before its end, the connection is closed (what is left of the
// response cannot be skipped cheaply).
func (b *h1Body) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

// finish pools the connection if the body ended cleanly (ok), the response allows
// keep-alive, nothing unasked-for follows it, and the request was not cancelled.
func (b *h1Body) finish(ok bool) {
	b.done = true
	pc := b.pc
	if b.stop.Stop() && ok && b.keep && pc.br.Buffered() == 0 {
		pc.c.put(pc)
		return
	}
	pc.conn.Close()
}
