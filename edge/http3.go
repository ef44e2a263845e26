package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/edgectl/edge/edge/internal/h3srv"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// DefaultRetryThreshold is HTTP3Options.RetryThreshold's default: QUIC handshakes in
// progress at once beyond which new connection attempts must first prove their source
// address with a Retry round trip.
const DefaultRetryThreshold = 100

// altSvcMaxAge is the ma= of the Alt-Svc header: clients remember HTTP/3 for a day.
const altSvcMaxAge = 86400

// HTTP3Options configure HTTP/3: QUIC over UDP on the HTTPS listener's address, serving
// what the TCP listener serves. The zero value serves HTTP/3 with the defaults.
type HTTP3Options struct {
	// Disabled turns HTTP/3 off: no UDP socket, no Alt-Svc header.
	Disabled bool
	// RetryThreshold is how many QUIC handshakes may be in progress at once before new
	// connection attempts are sent a Retry (RFC 9000 section 8.1.2) and must echo its token
	// from their claimed address before the server does any cryptography or sends more
	// than a few bytes for them: a flood of spoofed Initial packets then costs one small
	// packet each. Zero means DefaultRetryThreshold; negative means never (only
	// AlwaysRetry).
	RetryThreshold int
	// AlwaysRetry validates every new connection's address with a Retry, at the cost of one
	// round trip per new connection.
	AlwaysRetry bool
}

// quicServer is the HTTP/3 side of a Server: one quic.Transport on the UDP socket for the
// server's life, its listener and edge's HTTP/3 server (internal/h3srv) on it.
type quicServer struct {
	udp    net.PacketConn
	tr     *quic.Transport
	ln     *quic.Listener
	srv    *h3srv.Server
	conns  *quicConns
	altSvc []string // the Alt-Svc header's values for TCP responses (one; shared, never changed)
}

// startQUIC starts HTTP/3 unless it is disabled (s.mu held): see startHTTP3.
func (s *Server) startQUIC(ctx context.Context, tcpAddr net.Addr) error {
	if s.opts.HTTP3.Disabled {
		return nil
	}
	q, err := s.startHTTP3(ctx, tcpAddr)
	if err != nil {
		return err
	}
	s.h3 = q
	s.altSvc.Store(&q.altSvc)
	return nil
}

// startHTTP3 binds UDP on the HTTPS listener's address (tcpAddr, as bound; host taken
// from the configured address) and serves HTTP/3 on it in the background (s.mu held).
func (s *Server) startHTTP3(ctx context.Context, tcpAddr net.Addr) (*quicServer, error) {
	host, _, err := net.SplitHostPort(s.opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("edge: http3 listen address %q: %w", s.opts.Listen, err)
	}
	port := tcpAddr.(*net.TCPAddr).Port
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var lc net.ListenConfig
	udp, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("edge: http3 listen udp %s: %w", addr, err)
	}
	q := &quicServer{udp: udp, conns: newQUICConns(s.opts.HTTP3, s.limits.MaxConns, s.metrics.connections.WithLabelValues("quic"), s.registry)}
	q.tr = &quic.Transport{
		Conn:                udp,
		VerifySourceAddress: q.conns.verifySourceAddress,
		ConnContext:         q.conns.connContext,
	}
	q.ln, err = q.tr.Listen(s.h3TLSConfig, s.quicConfig())
	if err != nil {
		q.tr.Close()
		udp.Close()
		return nil, fmt.Errorf("edge: http3 listen %s: %w", addr, err)
	}
	q.srv = &h3srv.Server{
		Handler:           (*h3Handler)(s),
		MaxHeaderBytes:    s.limits.MaxHeaderBytes,
		IdleTimeout:       s.limits.IdleTimeout,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		ReadTimeout:       s.limits.ReadTimeout,
		WriteTimeout:      s.limits.WriteTimeout,
		WriteByteTimeout:  max(s.limits.WriteByteTimeout, 0),
		// quicConfig's MaxIncomingStreams: credit is never held from a client near it
		MaxIncomingStreams: s.limits.MaxConcurrentStreams,
		Logger:             s.log,
	}
	q.altSvc = []string{fmt.Sprintf(`h3=":%d"; ma=%d`, udp.LocalAddr().(*net.UDPAddr).Port, altSvcMaxAge)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := q.srv.ServeListener(&handshakeListener{Listener: q.ln, conns: q.conns})
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("edge: serve http3", "addr", udp.LocalAddr().String(), "err", err)
		}
	}()
	return q, nil
}

// quicConfig returns the QUIC limits, taken from Limits like the TCP side's: streams per
// connection as HTTP/2's MaxConcurrentStreams, idle timeout, the handshake bounded like
// TLS over TCP (ReadHeaderTimeout), flow control windows as HTTP/2's. 0-RTT is off:
// early data can be replayed.
func (s *Server) quicConfig() *quic.Config {
	l := s.limits
	return &quic.Config{
		HandshakeIdleTimeout:           l.ReadHeaderTimeout,
		MaxIdleTimeout:                 l.IdleTimeout,
		MaxIncomingStreams:             int64(l.MaxConcurrentStreams),
		MaxIncomingUniStreams:          quicMaxUniStreams,
		InitialStreamReceiveWindow:     uint64(l.MaxReceiveBufferPerStream),
		MaxStreamReceiveWindow:         uint64(l.MaxReceiveBufferPerStream),
		InitialConnectionReceiveWindow: uint64(l.MaxReceiveBufferPerConnection),
		MaxConnectionReceiveWindow:     uint64(l.MaxReceiveBufferPerConnection),
		Allow0RTT:                      false,
		RequireStreamCreditRelease:     true, // h3srv grants streams with its responses
	}
}

// quicMaxUniStreams bounds the unidirectional streams a client may open: HTTP/3 needs
// three (control, QPACK encoder and decoder).
const quicMaxUniStreams = 8

// newH3TLSConfig returns the QUIC listener's TLS configuration: like the TCP listener's,
// it resolves each handshake's configuration from the current snapshot (h3 variants).
func (s *Server) newH3TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{http3.NextProtoH3},
		GetConfigForClient: s.getConfigForClientH3,
	}
}

// h3Variant returns cfg for QUIC: the same certificates and callbacks, ALPN h3.
func h3Variant(cfg *tls.Config) *tls.Config {
	c := cfg.Clone()
	c.MinVersion = tls.VersionTLS13
	c.NextProtos = []string{http3.NextProtoH3}
	return c
}

// h3Handler is the Server as HTTP/3's handler (a pointer: no allocation to make it an
// http.Handler): serveTLS, on the worker that h3srv runs the request stream on.
type h3Handler Server

// ServeHTTP implements http.Handler.
func (h *h3Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*Server)(h).serveTLS(w, r) }

// refuseConfigH3 is refuseConfig for QUIC.
var refuseConfigH3 = h3Variant(refuseConfig)

// shutdown stops accepting QUIC connections, tells clients (GOAWAY) and lets requests
// finish until ctx is done; then it closes the connections, the transport and the socket.
func (q *quicServer) shutdown(ctx context.Context) error {
	q.ln.Close() // handshakes in flight are refused; established connections stay
	err := q.srv.Shutdown(ctx)
	q.tr.Close()
	q.udp.Close()
	if err != nil {
		return fmt.Errorf("edge: http3 shutdown: %w", err)
	}
	return nil
}

// HTTP3Addr returns the HTTP/3 (UDP) listener's bound address, or nil if HTTP/3 is off or
// the server not started.
func (s *Server) HTTP3Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h3 == nil {
		return nil
	}
	return s.h3.udp.LocalAddr()
}

// advertiseHTTP3 adds the Alt-Svc header announcing HTTP/3 on the UDP port to a response
// over TCP, if HTTP/3 is on.
func (s *Server) advertiseHTTP3(h http.Header) {
	if v := s.altSvc.Load(); v != nil {
		h["Alt-Svc"] = (*v)[:1:1] // shared by every response: no allocation
	}
}
