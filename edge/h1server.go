package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge/internal/reqcancel"
)

// Options.HTTP1 values: HTTP1Go serves HTTP/1.1 over TLS with net/http's server instead
// of edge's loop, HTTP1Edge (or empty) with edge's loop.
const (
	HTTP1Go   = "go"
	HTTP1Edge = "edge"
)

// errHTTP1 is Start's error for an unknown Options.HTTP1.
var errHTTP1 = errors.New(`edge: Options.HTTP1 must be "edge", "go" or empty`)

// h1Server accepts the HTTPS listener's connections, does their TLS handshake and serves
// those that did not choose h2 (ALPN http/1.1 or none) with edge's HTTP/1.1 loop
// (h1conn.go). The others, and HTTP/1.1 connections with a request the loop leaves to
// net/http, are handed to hs, the HTTPS http.Server, through queue: h2 behaves as before,
// TLSNextProto and all.
type h1Server struct {
	hs      *http.Server
	ln      net.Listener // the TLS listener
	queue   *connQueue   // hs serves it
	closing atomic.Bool
	handed  atomic.Int64    // HTTP/1.1 connections handed to net/http
	ctx     context.Context // base of every connection's context

	mu    sync.Mutex
	conns map[*h1Conn]struct{}
}

// newH1Server returns the loop for ln's connections; hs is the HTTPS server, configured.
func newH1Server(hs *http.Server, ln net.Listener, base context.Context) *h1Server {
	// As http.Server.Serve: the server's key here, the local address per connection.
	ctx := context.WithValue(base, http.ServerContextKey, hs)
	return &h1Server{hs: hs, ln: ln, queue: newConnQueue(ln.Addr()), ctx: ctx, conns: map[*h1Conn]struct{}{}}
}

// serve accepts connections until the listener is closed, as http.Server.Serve does
// (temporary errors retried with a backoff).
func (h *h1Server) serve() error {
	var delay time.Duration
	for {
		c, err := h.ln.Accept()
		if err != nil {
			if h.closing.Load() {
				return http.ErrServerClosed
			}
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				h.logf("http: Accept error: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		go h.serveConn(c.(*tls.Conn))
	}
}

// serveConn handshakes tc and serves it, or hands it to net/http (h2).
func (h *h1Server) serveConn(tc *tls.Conn) {
	c := &h1Conn{srv: h, tc: tc, born: time.Now()}
	if !h.track(c) {
		tc.Close()
		return
	}
	// A context per connection, as net/http's. It carries the connection's own local
	// address (the listener's may be a wildcard), and ends when a read from or a write to
	// the client fails (clientGone), which ends the request's context with it: a proxied
	// upstream request is aborted.
	ctx := context.WithValue(connContext(h.ctx, tc), http.LocalAddrContextKey, tc.LocalAddr())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.ctx, c.cancelConn = ctx, cancel
	if !h.handshake(c) {
		tc.Close()
		h.untrack(c)
		return
	}
	st := tc.ConnectionState()
	if p := st.NegotiatedProtocol; p != "" && p != "http/1.1" && p != "http/1.0" {
		h.untrack(c)
		if !h.queue.push(tc) {
			tc.Close()
		}
		return
	}
	c.state = &st
	if ra := tc.RemoteAddr(); ra != nil {
		c.remoteAddr = ra.String()
	}
	// The requests' contexts have the connection's values, not its cancellation, which
	// would register each of them with it: clientGone cancels the request served, and
	// so does one AfterFunc for the connection if its context ends otherwise (the
	// server's base context); stopped before the connection's context ends (defer
	// order). The connection is their reqcancel.Source: the proxy's hook on a request's
	// cancellation costs no allocation.
	c.reqBase = reqcancel.WithSource(context.WithoutCancel(ctx), c)
	stop := context.AfterFunc(ctx, c.cancelCurrent)
	defer stop()
	c.serve()
}

// handshake runs c's TLS handshake within hs's handshake timeout, and reports a failure as
// net/http does (the ErrorLog line serverErrorLog counts; a plain HTTP request gets 400).
func (h *h1Server) handshake(c *h1Conn) bool {
	to := h.handshakeTimeout()
	if to > 0 {
		dl := time.Now().Add(to)
		c.tc.SetReadDeadline(dl)
		c.tc.SetWriteDeadline(dl)
	}
	if err := c.tc.HandshakeContext(c.ctx); err != nil {
		reason := err.Error()
		if re, ok := err.(tls.RecordHeaderError); ok && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
			re.Conn.Close()
			reason = "client sent an HTTP request to an HTTPS server"
		}
		h.logf("http: TLS handshake error from %s: %v", c.tc.RemoteAddr(), reason)
		return false
	}
	if to > 0 {
		c.tc.SetReadDeadline(time.Time{})
		c.tc.SetWriteDeadline(time.Time{})
	}
	return true
}

// readHeaderTimeout is net/http's: ReadHeaderTimeout, else ReadTimeout.
func (h *h1Server) readHeaderTimeout() time.Duration {
	if h.hs.ReadHeaderTimeout > 0 {
		return h.hs.ReadHeaderTimeout
	}
	return h.hs.ReadTimeout
}

// handshakeTimeout is net/http's: the least of the non-zero read and write timeouts.
func (h *h1Server) handshakeTimeout() time.Duration {
	var d time.Duration
	for _, v := range [...]time.Duration{h.hs.ReadHeaderTimeout, h.hs.ReadTimeout, h.hs.WriteTimeout} {
		if v > 0 && (d == 0 || v < d) {
			d = v
		}
	}
	return d
}

func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// handOff gives tc to net/http's server, replay read first; false if it is shut down.
func (h *h1Server) handOff(tc *tls.Conn, replay []byte) bool {
	tc.SetReadDeadline(time.Time{})
	tc.SetWriteDeadline(time.Time{})
	h.handed.Add(1)
	return h.queue.push(&replayConn{Conn: tc, buf: replay})
}

func (h *h1Server) logf(format string, args ...any) {
	if h.hs.ErrorLog != nil {
		h.hs.ErrorLog.Printf(format, args...)
	}
}

// track adds c to the open connections, unless the server is shutting down.
func (h *h1Server) track(c *h1Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing.Load() {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *h1Server) untrack(c *h1Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// serveHTTPS serves the TLS listener ln in the background (s.mu held): with edge's
// HTTP/1.1 loop in front of the HTTPS http.Server, or with that server alone (HTTP1Go).
func (s *Server) serveHTTPS(ln net.Listener) {
	if s.opts.HTTP1 == HTTP1Go {
		s.serve(s.httpsSrv, ln)
		return
	}
	s.h1 = newH1Server(s.httpsSrv, ln, s.base)
	s.serve(s.httpsSrv, s.h1.queue)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.h1.serve(); err != nil && err != http.ErrServerClosed {
			s.log.Error("edge: serve", "addr", ln.Addr().String(), "err", err)
		}
	}()
}
