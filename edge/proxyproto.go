package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// proxyListener returns l reading PROXY headers from Options.ProxyProtocolFrom, or l
// itself if that is empty.
func (s *Server) proxyListener(l net.Listener) net.Listener {
	if len(s.opts.ProxyProtocolFrom) == 0 {
		return l
	}
	return &proxyListener{Listener: l, trusted: s.opts.ProxyProtocolFrom, timeout: s.limits.ReadHeaderTimeout,
		errs: s.metrics.access.proxyErrors, log: s.log}
}

// proxyListener reads the PROXY protocol header (v1 or v2) of every connection from a
// trusted load balancer (a peer in one of trusted): the connection must start with one,
// and its RemoteAddr and LocalAddr are then the client's and the address the client
// connected to, for everything above (TLS, HTTP, passthrough, logs, rules). Connections
// from other peers are passed on untouched, never inspected: a PROXY header a client
// sends itself is not TLS nor HTTP, so the handshake or the request fails, and no address
// it names is ever believed.
//
// The header is read in the connection's own goroutine (on its first RemoteAddr, Read or
// Write, which http.Server does first thing), never in Accept, so a slow load balancer
// connection holds up nobody else; reading it is bounded by timeout and by the header's
// maximum size. A connection whose header is missing, malformed, too large or late is
// closed at once, which frees its connection slot.
type proxyListener struct {
	net.Listener
	trusted []netip.Prefix
	timeout time.Duration
	errs    *prometheus.CounterVec // reason
	log     *slog.Logger
}

// Accept implements net.Listener.
func (l *proxyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || !l.trustedPeer(c.RemoteAddr()) {
		return c, err
	}
	return &proxyConn{Conn: c, timeout: l.timeout, errs: l.errs, log: l.log}, nil
}

// trustedPeer reports whether a is in one of the trusted networks.
func (l *proxyListener) trustedPeer(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	return ok && prefixesContain(l.trusted, ip.Unmap())
}

// prefixesContain reports whether one of nets contains ip (unmapped IPv4 or IPv6).
func prefixesContain(nets []netip.Prefix, ip netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// proxyConn is a connection from a trusted load balancer whose PROXY header is read once,
// before anything else.
type proxyConn struct {
	net.Conn
	timeout       time.Duration
	errs          *prometheus.CounterVec
	log           *slog.Logger
	once          sync.Once
	err           error    // the header could not be read: every Read fails with it
	remote, local net.Addr // from the header; nil: the connection's own
	rest          []byte   // read past the header, returned first
}

// errProxyHeader wraps what went wrong with a connection's PROXY header.
var errProxyHeader = errors.New("edge: PROXY protocol")

// init reads the header once.
func (c *proxyConn) init() {
	c.once.Do(func() {
		h, rest, err := readProxyHeader(c.Conn, c.timeout)
		if err != nil {
			reason := proxyErrorReason(err)
			c.errs.WithLabelValues(reason).Inc()
			c.err = fmt.Errorf("%w: from %s: %w", errProxyHeader, c.Conn.RemoteAddr(), err)
			c.log.LogAttrs(context.Background(), slog.LevelDebug, "PROXY protocol header refused",
				slog.String("peer", c.Conn.RemoteAddr().String()), slog.String("reason", reason), slog.Any("error", err))
			c.Conn.Close()
			return
		}
		c.rest = rest
		if !h.local { // an IPv4 client written as IPv4-mapped IPv6 is logged as IPv4
			c.remote = net.TCPAddrFromAddrPort(netip.AddrPortFrom(h.src.Addr().Unmap(), h.src.Port()))
			c.local = net.TCPAddrFromAddrPort(netip.AddrPortFrom(h.dst.Addr().Unmap(), h.dst.Port()))
		}
	})
}

// readProxyHeader reads a header from c within timeout, and returns it with the bytes
// read past it.
func readProxyHeader(c net.Conn, timeout time.Duration) (proxyHeader, []byte, error) {
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 0, 256)
	for {
		n, h, err := parseProxyHeader(buf)
		if err != nil {
			return h, nil, err
		}
		if n > 0 {
			return h, buf[n:], nil
		}
		if len(buf) == cap(buf) {
			if cap(buf) >= proxyV2Fixed+maxProxyV2Body {
				return h, nil, errProxyTooLarge // not reached: the parser decides before
			}
			buf = append(buf, make([]byte, proxyV2Fixed+maxProxyV2Body-len(buf))...)[:len(buf)]
		}
		m, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil && m == 0 {
			return h, nil, err
		}
	}
}

// proxyErrorReason is the metric label of a header error.
func proxyErrorReason(err error) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, errProxyTooLarge):
		return "too_large"
	case errors.Is(err, errProxyNotHeader):
		return "missing"
	case errors.Is(err, errProxyInvalid):
		return "invalid"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
}

// Read implements net.Conn: the bytes after the header, first those read with it.
func (c *proxyConn) Read(p []byte) (int, error) {
	c.init()
	if c.err != nil {
		return 0, c.err
	}
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// Write implements net.Conn; nothing is written before the header is read.
func (c *proxyConn) Write(p []byte) (int, error) {
	c.init()
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Write(p)
}

// RemoteAddr returns the client's address as the header says, or the peer's.
func (c *proxyConn) RemoteAddr() net.Addr {
	c.init()
	if c.remote != nil {
		return c.remote
	}
	return c.Conn.RemoteAddr()
}

// LocalAddr returns the address the client connected to as the header says, or the
// connection's own.
func (c *proxyConn) LocalAddr() net.Addr {
	c.init()
	if c.local != nil {
		return c.local
	}
	return c.Conn.LocalAddr()
}

// NetConn returns the connection under c for splice(2) once nothing read ahead is left
// to return; until then a wrapper that is not unwrapped further.
func (c *proxyConn) NetConn() net.Conn {
	c.init()
	if len(c.rest) > 0 || c.err != nil {
		return struct{ net.Conn }{c}
	}
	return c.Conn
}
