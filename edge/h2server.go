package edge

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"

	"golang.org/x/net/http2"
)

// bundledHTTP2 leaves net/http's own HTTP/2 server in place: BenchmarkHTTP2 compares.
var bundledHTTP2 bool

// serveHTTP2 makes srv serve the HTTP/2 connections its TLS listener negotiates (ALPN h2)
// with golang.org/x/net/http2's server, the code net/http bundles, over a coalescedConn that
// coalesces the server's writes (coalescedconn.go). Everything else is net/http's as before:
// srv.HTTP2 (limits.go) configures the HTTP/2 server, ReadTimeout, WriteTimeout,
// IdleTimeout and MaxHeaderBytes apply per stream, and Shutdown sends GOAWAY and waits
// for the connections' streams. Call it once srv's limits are set.
func serveHTTP2(srv *http.Server) error {
	if bundledHTTP2 {
		return nil
	}
	h2 := &http2.Server{}
	if err := http2.ConfigureServer(srv, h2); err != nil {
		return fmt.Errorf("edge: configure HTTP/2: %w", err)
	}
	// The listener does TLS and ALPN itself (Server.tlsConfig); ConfigureServer's
	// TLSConfig would make serve call ServeTLS. No HTTP/2 without TLS either.
	srv.TLSConfig = nil
	delete(srv.TLSNextProto, "unencrypted_http2")
	writeTimeout := srv.HTTP2.WriteByteTimeout
	srv.TLSNextProto[http2.NextProtoTLS] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
		// net/http passes the connection's base context through the handler it gives.
		var ctx context.Context
		if bc, ok := h.(interface{ BaseContext() context.Context }); ok {
			ctx = bc.BaseContext()
		}
		opts := &http2.ServeConnOpts{Context: ctx, Handler: h, BaseConfig: hs}
		h2.ServeConn(newCoalescedConn(c, writeTimeout), opts)
	}
	return nil
}
