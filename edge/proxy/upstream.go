package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// upstream is the state of one upstream address shared by every Handler using it with the
// same settings: a keep-alive pool, passive ejection, in-flight count and active health.
type upstream struct {
	base      *url.URL // scheme and host only; for logs and health checks
	transport *http.Transport
	fast      *h1Client         // bodiless GET, HEAD, OPTIONS and TRACE; see fastPath
	check     *site.HealthCheck // nil: passive only; defaults applied

	inflight atomic.Int64
	// fails counts consecutive transport failures; ejectedUntil (Unix ns, 0 none) is when
	// the current passive ejection ends.
	fails        atomic.Int32
	ejectedUntil atomic.Int64
	// down is set by failing active health checks.
	down atomic.Bool

	stop context.CancelFunc // stops the health check; nil without one
	gen  uint64             // last Sweep generation that used it; guarded by Manager.mu
}

// dialError marks a failure to connect (TCP, and TLS for https): nothing was sent upstream.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

func newUpstream(u *url.URL, c *config, o *Options) *upstream {
	dialer := &net.Dialer{Timeout: c.Timeouts.Connect, KeepAlive: 30 * time.Second}
	var tlsConf *tls.Config
	if u.Scheme == "https" {
		if o.UpstreamTLS != nil {
			tlsConf = o.UpstreamTLS.Clone()
		} else {
			tlsConf = &tls.Config{}
		}
		tlsConf.NextProtos = []string{"http/1.1"}
		if tlsConf.ServerName == "" {
			tlsConf.ServerName = u.Hostname()
		}
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, &dialError{err}
		}
		return conn, nil
	}
	t := &http.Transport{
		Proxy:                 nil, // never an environment proxy between edge and its upstreams
		DialContext:           dial,
		MaxIdleConnsPerHost:   o.maxIdle(),
		IdleConnTimeout:       c.Timeouts.Idle,
		ResponseHeaderTimeout: c.Timeouts.Response,
		ExpectContinueTimeout: time.Second,
		// A proxy must pass bodies through untouched: no transparent gzip.
		DisableCompression: true,
		ForceAttemptHTTP2:  false,
		ReadBufferSize:     16 << 10,
		WriteBufferSize:    16 << 10,
	}
	connect := func(ctx context.Context) (net.Conn, error) { return dial(ctx, "tcp", hostPort(u)) }
	if tlsConf != nil {
		// The TLS handshake is part of connecting: nothing is sent before it completes, so
		// its failures are dial errors too (ejected, safely retried).
		connectTimeout := c.Timeouts.Connect
		t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(conn, tlsConf)
			hctx, cancel := context.WithTimeout(ctx, connectTimeout)
			defer cancel()
			if err := tc.HandshakeContext(hctx); err != nil {
				conn.Close()
				return nil, &dialError{err}
			}
			return tc, nil
		}
		connect = func(ctx context.Context) (net.Conn, error) { return t.DialTLSContext(ctx, "tcp", hostPort(u)) }
	}
	up := &upstream{
		base:      &url.URL{Scheme: u.Scheme, Host: u.Host},
		transport: t,
		fast: &h1Client{dial: connect, headerTimeout: c.Timeouts.Response,
			maxIdle: o.maxIdle(), idleTTL: c.Timeouts.Idle},
		check: c.HealthCheck,
	}
	return up
}

// available reports whether up may get traffic now; when it is passively ejected, until
// is the end of the ejection (0 otherwise). now is filled lazily.
func (up *upstream) available(now *int64) (ok bool, until int64) {
	if up.down.Load() {
		return false, 0
	}
	e := up.ejectedUntil.Load()
	if e == 0 {
		return true, 0
	}
	if *now == 0 {
		*now = time.Now().UnixNano()
	}
	if *now >= e {
		return true, 0
	}
	return false, e
}

// failed records a transport failure and ejects up with exponential backoff.
func (up *upstream) failed(o *Options) {
	n := up.fails.Add(1)
	d := o.ejectBase()
	for i := int32(1); i < n && d < o.ejectMax(); i++ {
		d *= 2
	}
	d = min(d, o.ejectMax())
	up.ejectedUntil.Store(time.Now().Add(d).UnixNano())
}

// succeeded clears passive ejection; it writes only when there is something to clear.
func (up *upstream) succeeded() {
	if up.fails.Load() != 0 || up.ejectedUntil.Load() != 0 {
		up.fails.Store(0)
		up.ejectedUntil.Store(0)
	}
}

// release stops the health check and closes idle connections.
func (up *upstream) release() {
	if up.stop != nil {
		up.stop()
	}
	up.transport.CloseIdleConnections()
	up.fast.closeIdle()
}

// roundTrip sends req to up: bodiless safe requests by its own client, the rest by the
// Transport.
func (up *upstream) roundTrip(req *http.Request) (*http.Response, error) {
	if fastPath(req) {
		return up.fast.RoundTrip(req)
	}
	return up.transport.RoundTrip(req)
}

// hostPort is u's host with the scheme's default port when it has none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}
