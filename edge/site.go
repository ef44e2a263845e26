package edge

import (
	"crypto/tls"
	"net/url"
	"time"

	"github.com/edgectl/edge/edge/proxy"
)

// Site is one compiled site as the data plane serves it. It is built by reconcile.Compile
// (from a schema.Site and its private key) and never changed after it is handed to
// NewSnapshot. The edge package knows nothing of git, CUE or Vault.
type Site struct {
	// Name identifies the site (the base name of its declaration file). Required, unique.
	Name string
	// Revision is the config-repo commit this version of the site came from. May be empty.
	Revision string
	// Hosts are the names served: lower-case, IDNA ASCII, no trailing dot. "*.example.com"
	// covers exactly one label below example.com. At least one.
	Hosts []string
	// Default makes this site answer handshakes with an unknown SNI or none. At most one
	// site in a snapshot may be the default. The zero value (false) refuses them.
	Default bool
	// Certificates are the site's certificate chains with Leaf filled in and the private key
	// attached; at most one per key type (ECDSA, RSA, Ed25519). At least one.
	Certificates []tls.Certificate
	// Routes map path prefixes to upstreams. May be empty for a redirect-only site.
	Routes []Route
	// Redirects are answered before routes. May be empty.
	Redirects []Redirect
	// Headers are added to (or removed from) every response of the site.
	Headers Headers
}

// Route sends requests whose path starts with Path to one of Upstreams.
type Route struct {
	// Path is the prefix matched, beginning with "/". "/" matches everything. A prefix
	// "/api" matches "/api" and "/api/x" but not "/apix".
	Path string
	// Upstreams are base URLs (scheme http or https, host:port, optional path). At least one.
	Upstreams []*url.URL
	// Balance is the load-balancing policy: "round_robin" (the zero value means this) or
	// "least_conn".
	Balance string
	// StripPrefix removes Path from the request path before it is proxied.
	StripPrefix bool
	// ConnectTimeout bounds dialing an upstream. Zero means 5s.
	ConnectTimeout time.Duration
	// ResponseTimeout bounds waiting for an upstream's response headers. Zero means 60s.
	// Streaming bodies (SSE, WebSocket) are not bounded by it.
	ResponseTimeout time.Duration
	// IdleTimeout is how long an idle keep-alive connection to an upstream is kept. Zero
	// means 90s.
	IdleTimeout time.Duration
	// BodyTimeout is the request-body idle timeout: when no byte of a request body arrives
	// for this long, the upstream request is cancelled and the client gets 408. Zero
	// means 60s.
	BodyTimeout time.Duration
	// Retries is how many other upstreams an idempotent request is retried on after a
	// connection failure. Zero means no retry.
	Retries int
	// HealthCheck enables active health checks. Nil means passive checks only.
	HealthCheck *HealthCheck
}

// HealthCheck describes an active health check of every upstream of a route: the proxy's
// own type (see proxy.HealthCheck for its fields and defaults).
type HealthCheck = proxy.HealthCheck

// Redirect answers matching requests with a redirect instead of proxying them.
type Redirect struct {
	// Hosts limits the redirect to these of the site's hosts. Empty means all of them.
	Hosts []string
	// Path is a prefix the request path must have, "/" (or empty) for all.
	Path string
	// To is the target: a scheme and host with an optional path, e.g.
	// "https://example.com". Required.
	To string
	// Status is 301, 302, 307 or 308. Zero means 308.
	Status int
	// KeepPath appends the request's path and query to To.
	KeepPath bool
}

// Headers changes the response headers of a site.
type Headers struct {
	// HSTS is the Strict-Transport-Security policy. Nil means no header.
	HSTS *HSTS
	// Set headers replace whatever the upstream sent.
	Set map[string]string
	// Remove deletes these headers from upstream responses (e.g. "Server", "X-Powered-By").
	Remove []string
}

// HSTS is a Strict-Transport-Security policy.
type HSTS struct {
	MaxAge            time.Duration
	IncludeSubdomains bool
	Preload           bool
}
