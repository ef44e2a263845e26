package edge

import (
	"fmt"
	"net/http"
	"time"
)

// Limits bound what one client can make the server hold. Every zero value means the
// default given; a negative value means no limit where that makes sense.
type Limits struct {
	// ReadHeaderTimeout bounds the TLS handshake and reading a request's headers
	// (slowloris). Zero means 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included. Zero means none, so
	// uploads and long-lived streams work; ReadHeaderTimeout still applies.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response. Zero means none (SSE, downloads).
	WriteTimeout time.Duration
	// WriteByteTimeout bounds how long a write may wait for a client that stops taking
	// bytes: each write to an HTTP/1.1 or HTTP/2 connection's socket (then the
	// connection fails), an HTTP/2 stream's wait for flow-control credit and each 16 KiB
	// of an HTTP/3 response, flow control included (then the stream is reset). A client
	// that keeps its connection open but stops reading, or grants no credit, holds a
	// handler and its upstream this long at most (nginx's send_timeout). The stream
	// bound is edge's HTTP/2 server's (HTTP2ServerEdge), not net/http's. Zero means 30s;
	// negative means none.
	WriteByteTimeout time.Duration
	// IdleTimeout closes keep-alive connections (HTTP/1.1 and HTTP/2) idle this long.
	// Zero means 120s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers (HTTP/1.1) and the header list
	// (HTTP/2); larger requests get 431. Zero means 64 KiB.
	MaxHeaderBytes int
	// MaxConns caps the client connections open at once on the HTTPS listener and,
	// separately, on the HTTP listener; further clients wait in the accept backlog. Zero
	// means 50,000; negative means no cap.
	MaxConns int
	// MaxConcurrentStreams is the HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS. Go's server also
	// never runs more handlers than this per connection, which bounds HTTP/2 rapid reset
	// (CVE-2023-44487). Zero means 100.
	MaxConcurrentStreams int
	// MaxReadFrameSize is the largest HTTP/2 frame accepted. Zero means 64 KiB.
	MaxReadFrameSize int
	// MaxReceiveBufferPerStream and MaxReceiveBufferPerConnection bound the HTTP/2 flow
	// control windows (memory buffered per client). Zero means 256 KiB and 1 MiB.
	MaxReceiveBufferPerStream, MaxReceiveBufferPerConnection int
	// HTTP2Server chooses the HTTP/2 server: HTTP2ServerEdge (edge's fork of net/http's,
	// fewer goroutine hand-offs per response; the default) or HTTP2ServerGo (net/http's,
	// the fallback); see "HTTP/2 conformance" in the package documentation. The limits
	// above apply to both.
	HTTP2Server HTTP2Server
}

// HTTP2Server names an HTTP/2 server implementation (Limits.HTTP2Server).
type HTTP2Server string

// The HTTP/2 servers.
const (
	// HTTP2ServerGo is net/http's HTTP/2 server.
	HTTP2ServerGo HTTP2Server = "go"
	// HTTP2ServerEdge is edge/internal/h2srv, a fork of golang.org/x/net/http2's server
	// that ends a finished handler's response in one hand-off; the empty value means it.
	HTTP2ServerEdge HTTP2Server = "edge"
)

// ParseHTTP2Server parses an HTTP2Server name ("edge" or "go"; empty means "edge").
func ParseHTTP2Server(s string) (HTTP2Server, error) {
	switch v := HTTP2Server(s); v {
	case "", HTTP2ServerEdge:
		return HTTP2ServerEdge, nil
	case HTTP2ServerGo:
		return v, nil
	}
	return "", fmt.Errorf("edge: unknown HTTP/2 server %q (want %q or %q)", s, HTTP2ServerGo, HTTP2ServerEdge)
}

// withDefaults returns l with zero values replaced by the defaults.
func (l Limits) withDefaults() Limits {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.ReadHeaderTimeout, 10*time.Second)
	def(&l.IdleTimeout, 120*time.Second)
	def(&l.WriteByteTimeout, 30*time.Second)
	defInt(&l.MaxHeaderBytes, 64<<10)
	defInt(&l.MaxConns, 50000)
	defInt(&l.MaxConcurrentStreams, 100)
	defInt(&l.MaxReadFrameSize, 64<<10)
	defInt(&l.MaxReceiveBufferPerStream, 256<<10)
	defInt(&l.MaxReceiveBufferPerConnection, 1<<20)
	if l.HTTP2Server == "" {
		l.HTTP2Server = HTTP2ServerEdge
	}
	return l
}

// apply sets the limits on srv, HTTP/2 included.
func (l Limits) apply(srv *http.Server) {
	srv.ReadHeaderTimeout = l.ReadHeaderTimeout
	srv.ReadTimeout = max(l.ReadTimeout, 0)
	srv.WriteTimeout = max(l.WriteTimeout, 0)
	srv.IdleTimeout = l.IdleTimeout
	srv.MaxHeaderBytes = l.MaxHeaderBytes
	srv.HTTP2 = &http.HTTP2Config{
		MaxConcurrentStreams:          l.MaxConcurrentStreams,
		MaxReadFrameSize:              l.MaxReadFrameSize,
		MaxReceiveBufferPerStream:     l.MaxReceiveBufferPerStream,
		MaxReceiveBufferPerConnection: l.MaxReceiveBufferPerConnection,
		// A client that stops reading stalls our writes: give up after this long.
		WriteByteTimeout: max(l.WriteByteTimeout, 0),
		// Probe silent connections so dead peers do not keep streams.
		SendPingTimeout: 60 * time.Second,
		PingTimeout:     15 * time.Second,
	}
}
