package edge

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge/internal/reqcancel"
	"github.com/edgectl/edge/edge/proxy"
)

// h1Conn is one HTTP/1.1 connection served by edge's loop: requests are read from a
// pooled bufio.Reader and answered by the HTTPS handler through an h1Response, one at a
// time, without net/http's goroutine per request (h1bgread.go) and with fewer deadlines. It keeps net/http's timeouts: ReadHeaderTimeout from the first
// byte of a request, IdleTimeout between requests, ReadTimeout and WriteTimeout per
// request. A request the loop does not serve (see handOff) and everything after it on the
// connection goes to net/http's server, the bytes already read replayed.
type h1Conn struct {
	srv        *h1Server
	tc         *tls.Conn
	state      *tls.ConnectionState
	ctx        context.Context
	cancelConn context.CancelFunc // ends ctx: the client is gone (a read or write failed)
	reqBase    context.Context    // ctx without its cancellation: the requests' parent
	remoteAddr string
	br         *bufio.Reader
	bw         *bufio.Writer
	ownBW      *bufio.Writer // the connection's buffer while bw is a record-sized one (h1recordbuf.go)
	werr       error         // the first write error
	readErr    error         // why waitHead failed
	lastPOST   bool
	wdSet      bool                       // the handler set a write deadline (http.ResponseController)
	hijacked   atomic.Bool                // the handler took the connection (h1hijack.go)
	cur        atomic.Pointer[h1Response] // the response being served (readFailed)
	st         atomic.Int32               // connNew, connIdle, connActive, connClosed
	born       time.Time
	bg         bgRead
	snapMap    http.Header // the responses' header snapshot (cloneHeader)
	snapVals   []string
	spareHdr   http.Header   // a map handed off by the last response, cleared, for the next
	hdrKeys    []string      // writeHeader's scratch space
	next       *h1Exchange   // readHead's, for the response of the request it read
	batch      proxy.Batcher // the connection's batcher (batcherFor), once batchFound
	batchFound bool
}

const (
	connNew int32 = iota
	connIdle
	connActive
	connClosed
)

var (
	h1Readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	h1Writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

// errWriter records the connection's first write error (net/http's checkConnErrorWriter).
type errWriter struct{ c *h1Conn }

func (w errWriter) Write(p []byte) (int, error) {
	n, err := w.c.tc.Write(p)
	if err != nil && w.c.werr == nil {
		w.c.werr = err
		w.c.clientGone()
		w.c.tc.Close()
	}
	return n, err
}

// serve serves c's requests until the connection ends or is handed off.
func (c *h1Conn) serve() {
	c.br = h1Readers.Get().(*bufio.Reader)
	c.br.Reset(h1Source{c})
	c.bw = h1Writers.Get().(*bufio.Writer)
	c.bw.Reset(errWriter{c})
	handedOff := false
	defer func() {
		if c.hijacked.Load() {
			return // the handler has the connection and its reader (Hijack)
		}
		if !handedOff {
			c.bw.Flush()
			c.tc.Close()
		}
		c.br.Reset(nil)
		h1Readers.Put(c.br)
		c.bw.Reset(nil)
		h1Writers.Put(c.bw)
		c.srv.untrack(c)
	}()
	for first := true; ; first = false {
		if !first && !c.waitIdle() {
			return
		}
		req, replay := c.readRequest()
		if replay != nil {
			handedOff = c.srv.handOff(c.tc, *replay)
			return
		}
		if req == nil || !c.serveRequest(req) {
			return
		}
	}
}

// waitIdle waits, up to IdleTimeout, for the next request's first bytes; false: close.
func (c *h1Conn) waitIdle() bool {
	c.st.Store(connIdle)
	if c.srv.closing.Load() {
		return false
	}
	if d := c.srv.hs.IdleTimeout; d > 0 {
		c.tc.SetReadDeadline(time.Now().Add(d))
	} else {
		c.tc.SetReadDeadline(time.Time{})
	}
	// net/http clears the deadline next; readRequest sets the header's at once.
	if c.br.Buffered() == 0 {
		// The response went out just now: the client's next request is seldom there yet.
		if p, ok := c.tc.NetConn().(pollFirster); ok {
			p.PollFirst()
		}
	}
	_, err := c.br.Peek(4)
	return err == nil
}

// serveRequest runs the handler for req and finishes its response; false: close.
func (c *h1Conn) serveRequest(req *http.Request) (keep bool) {
	req.RemoteAddr, req.TLS = c.remoteAddr, c.state
	w := newH1Response(c, req)
	w.ctx.Context = c.reqBase
	*req = *req.WithContext(&w.ctx) // in place: the loop holds the only pointer (no copy kept)
	c.cur.Store(w)
	select {
	case <-c.ctx.Done(): // ended before w was current: cancelCurrent missed it
		w.cancelRequest()
	default:
	}
	c.beginRequest(w.body != nil)
	ended := false // the normal end below cancelled the request and ended the watch
	defer func() {
		c.cur.Store(nil)
		if !ended { // a panic or a hijack: done here (done twice is the same as once)
			w.cancelRequest()
			c.endRequest()
		}
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.logf("http: panic serving %v: %v\n%s", c.remoteAddr, v, buf)
			}
			keep = false
		}
		w.release()
	}()
	h := c.srv.hs.Handler
	if h == nil { // net/http's serverHandler
		h = http.DefaultServeMux
	}
	h.ServeHTTP(w, req)
	w.cancelRequest()
	if c.hijacked.Load() {
		return false
	}
	w.finish()
	c.endRequest()
	ended = true
	if w.body != nil {
		w.body.Close()
	}
	if req.MultipartForm != nil { // net/http's finishRequest: the form's temporary files go
		req.MultipartForm.RemoveAll()
	}
	if c.srv.hs.WriteTimeout > 0 || c.wdSet {
		c.wdSet = false
		c.tc.SetWriteDeadline(time.Time{})
	}
	if !w.reusable() {
		if w.bodyLimitHit || (w.body != nil && w.body.closedEarly()) {
			c.closeWriteAndWait()
		}
		return false
	}
	return true
}

// clientGone ends the connection's context and the request's: a read from or a write to
// the client failed (net/http's conn.cancelCtx, of which the request's is a child).
func (c *h1Conn) clientGone() {
	c.cancelConn()
	c.cancelCurrent()
}

// cancelCurrent ends the context of the request being served, if any.
func (c *h1Conn) cancelCurrent() {
	if w := c.cur.Load(); w != nil {
		w.cancelRequest()
	}
}

// cancelRequest ends w's request context and runs the function its hook holds (the
// proxy's abort of the upstream request, registered through reqcancel.AfterFunc).
func (w *h1Response) cancelRequest() {
	w.ctx.cancel()
	w.hook.Fire()
}

// Hook implements reqcancel.Source: the hook of the request being served, if ctx ends
// with its context (not a context made from it with a cancellation of its own). The
// usual case, the request's context under values only, makes no Done channel.
func (c *h1Conn) Hook(ctx context.Context) *reqcancel.Hook {
	w := c.cur.Load()
	if w == nil {
		return nil
	}
	if base, ok := reqcancel.Base(ctx).(*h1ReqCtx); ok {
		if base == &w.ctx {
			return &w.hook
		}
		return nil // another request's
	}
	if ctx.Done() == w.ctx.Done() {
		return &w.hook
	}
	return nil
}

// logf writes to the HTTPS server's ErrorLog, as net/http would.
func (c *h1Conn) logf(format string, args ...any) { c.srv.logf(format, args...) }

// isTimeout reports whether err is a timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// replayConn is a connection handed to net/http's server: the bytes the loop read and did
// not serve come first. It keeps the *tls.Conn's methods, ConnectionState (net/http sets
// Request.TLS from it) and NetConn (connContext finds the helloConn) included.
type replayConn struct {
	*tls.Conn
	buf []byte
}

// Read implements net.Conn.
func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

var _ io.Reader = (*replayConn)(nil)
