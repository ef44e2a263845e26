package site

import "time"

// Defaults of the zero Passthrough fields.
const (
	// DefaultPassthroughConnectTimeout bounds dialing a passthrough upstream.
	DefaultPassthroughConnectTimeout = 5 * time.Second
	// DefaultPassthroughIdleTimeout closes a passthrough connection on which no byte moved
	// in either direction for this long.
	DefaultPassthroughIdleTimeout = time.Hour
)

// Passthrough routes a site's TLS connections, not terminated, to TCP upstreams that
// terminate TLS themselves (an app with its own tls.createServer). The edge reads the
// ClientHello's SNI to choose the site and then copies bytes both ways; it holds no
// certificate or key for the site. A passthrough site has no Routes, Redirects or Headers.
type Passthrough struct {
	// Upstreams are "host:port" TCP addresses. At least one.
	Upstreams []string
	// Balance is the policy choosing among healthy upstreams (zero: round robin).
	Balance Balance
	// ProxyProtocol sends a PROXY protocol v2 header before the client's bytes, so the
	// upstream learns the client address. The upstream must expect it.
	ProxyProtocol bool
	// ConnectTimeout bounds dialing an upstream. Zero means 5s.
	ConnectTimeout time.Duration
	// IdleTimeout closes a connection with no traffic either way for this long. Zero
	// means 1h.
	IdleTimeout time.Duration
	// HealthCheck enables active TCP-connect checks of every upstream (Path and
	// ExpectStatus do not apply). Nil means passive checks only: an upstream that refuses
	// connections is skipped for a while.
	HealthCheck *HealthCheck
}

// WithDefaults returns p with its zero fields replaced by the defaults.
func (p Passthrough) WithDefaults() Passthrough {
	if p.Balance == "" {
		p.Balance = RoundRobin
	}
	if p.ConnectTimeout == 0 {
		p.ConnectTimeout = DefaultPassthroughConnectTimeout
	}
	if p.IdleTimeout == 0 {
		p.IdleTimeout = DefaultPassthroughIdleTimeout
	}
	if p.HealthCheck != nil {
		hc := p.HealthCheck.WithDefaults()
		p.HealthCheck = &hc
	}
	return p
}
