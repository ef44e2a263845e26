package site

import "net/url"

// Route sends requests whose path starts with Path to one of Upstreams.
type Route struct {
	// Path is the prefix matched, beginning with "/". "/" matches everything. A prefix
	// "/api" matches "/api" and "/api/x" but not "/apix".
	Path string
	// Upstreams are base URLs (scheme http or https, host:port, optional path), parsed
	// once by whoever builds the Route. At least one, unless Static is set. They are
	// shared: never change them.
	Upstreams []*url.URL
	// Balance is the load-balancing policy. The zero value means RoundRobin.
	Balance Balance
	// StripPrefix removes Path from the request path before it is proxied.
	StripPrefix bool
	// Timeouts bound dialing an upstream, waiting for its response headers, keeping an
	// idle connection and waiting for the client's request body; zero fields mean the
	// defaults (see Timeouts).
	Timeouts Timeouts
	// Retries is how many other upstreams an idempotent request is retried on after a
	// connection failure. Zero means no retry.
	Retries int
	// HealthCheck enables active health checks of every upstream. Nil means passive
	// checks only.
	HealthCheck *HealthCheck
	// Compress, when set, compresses the route's responses for clients that accept it.
	// Nil means no compression by the edge.
	Compress *Compress
	// CacheControl sets Cache-Control by request path pattern, the first match winning.
	// Empty means the upstream's own header goes as it is.
	CacheControl []CacheRule
	// CORS, when set, answers cross-origin preflights at the edge and adds the CORS
	// headers to responses for allowed origins. Nil means the upstream handles CORS.
	CORS *CORS
	// Access is the route's IP rule, checked after the site's; nil means none.
	Access *Access
	// RateLimit limits each client's requests to this route, besides the site's limit;
	// nil means no limit.
	RateLimit *RateLimit
	// BasicAuth, when set, asks for a user name and password from the users of a Vault
	// secret. Nil means none.
	BasicAuth *BasicAuth
	// ForwardAuth, when set, asks an auth service about every request. Nil means none.
	ForwardAuth *ForwardAuth
	// Weights, when not nil, holds one weight per upstream, in the order of Upstreams,
	// each from 1 to MaxWeight: an upstream gets a share of the requests proportional to
	// its weight (95 and 5: a canary getting 5 %). Nil means every weight is 1.
	Weights []int
	// Sticky, when not nil, pins each client to one upstream with a cookie (see Sticky).
	// Nil means no affinity.
	Sticky *Sticky
	// Static, when set, makes the route serve files instead of proxying: Upstreams,
	// Balance, Retries and HealthCheck are then empty. Nil for a proxied route.
	Static *Static
}

// WithDefaults returns r with its zero values replaced by their defaults: Balance,
// Timeouts and a copy of HealthCheck (r itself, and its health check, are unchanged).
// Negative values are kept as they are, for the caller to refuse.
func (r Route) WithDefaults() Route {
	if r.Balance == "" {
		r.Balance = RoundRobin
	}
	r.Timeouts = r.Timeouts.WithDefaults()
	if r.HealthCheck != nil {
		hc := r.HealthCheck.WithDefaults()
		r.HealthCheck = &hc
	}
	return r
}
