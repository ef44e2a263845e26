package edge

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/edgectl/edge/edge/internal/h2srv"
)

// plainHTTP2Writes leaves the HTTP/2 server's writes as they are, not coalesced:
// BenchmarkHTTP2 compares.
var plainHTTP2Writes bool

// coalesceHTTP2Writes makes the HTTP/2 connections of srv (an HTTPS server whose
// listener's connections are helloConns under crypto/tls) coalesce their writes
// (writecoalescer.go), each write to the socket bounded by srv.HTTP2.WriteByteTimeout.
// The HTTP/2 server is net/http's own, or with which HTTP2ServerEdge edge's fork of it
// (edge/internal/h2srv), both configured by srv.HTTP2 (limits.go): it is wrapped, not
// replaced. Call it once srv's limits are set, before serving.
func coalesceHTTP2Writes(srv *http.Server, which HTTP2Server) error {
	if plainHTTP2Writes {
		return nil
	}
	// net/http installs its HTTP/2 server in srv.TLSNextProto when Serve starts: a
	// listener that fails at once has it do so without serving anything.
	if err := srv.Serve(failingListener{}); !errors.Is(err, errSetupOnly) {
		return fmt.Errorf("edge: set up HTTP/2: %w", err)
	}
	// It also gave srv a TLSConfig, which would make Server.serve call ServeTLS: the
	// listener does TLS and ALPN itself (Server.tlsConfig).
	if srv.TLSNextProto["h2"] == nil { // HTTP/2 off (GODEBUG=http2server=0): nothing to coalesce
		srv.TLSConfig = nil
		return nil
	}
	if which == HTTP2ServerEdge { // replaces net/http's in srv.TLSNextProto
		if err := h2srv.ConfigureServer(srv, nil); err != nil {
			return fmt.Errorf("edge: set up HTTP/2: %w", err)
		}
	}
	srv.TLSConfig = nil
	h2 := srv.TLSNextProto["h2"]
	var timeout time.Duration
	if srv.HTTP2 != nil {
		timeout = srv.HTTP2.WriteByteTimeout
	}
	srv.TLSNextProto["h2"] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
		if hc, ok := c.NetConn().(*helloConn); ok {
			hc.coalesceWrites(timeout)
		}
		h2(hs, c, h)
	}
	return nil
}

// coalesceWrites makes c's writes go through a writeCoalescer from now on. Call it once,
// when no write is under way and none can start meanwhile (before the HTTP/2 server
// starts on c).
func (c *helloConn) coalesceWrites(timeout time.Duration) {
	c.wc = newWriteCoalescer(c.Conn, timeout)
}

var errSetupOnly = errors.New("edge: listener for setup only")

// failingListener fails every Accept.
type failingListener struct{}

func (failingListener) Accept() (net.Conn, error) { return nil, errSetupOnly }
func (failingListener) Close() error              { return nil }
func (failingListener) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
