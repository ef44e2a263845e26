// Package proxy is edge's reverse proxy: it forwards the requests of one route to one of
// the route's upstreams, balancing, retrying, ejecting and health-checking them.
//
// It does not import package edge; edge converts each edge.Route into a [Config] field by
// field (same names, same zero values) and asks a [Manager] for its [Handler].
//
// # Lifetime
//
// Snapshots are immutable and rebuilt on every config change, but upstream state must
// outlive them: keep-alive connection pools, passive ejection, least-conn counters and
// active health-check goroutines. That state lives in one long-lived [Manager] per server:
//
//	m := proxy.NewManager(proxy.Options{Logger: logger})
//	defer m.Close()
//
//	// building a snapshot, once per route (cheap: a map lookup when cfg is unchanged):
//	h, err := m.Handler(cfg) // *proxy.Handler, an http.Handler
//
//	// after the new snapshot is published (Server.Swap), from the goroutine that builds
//	// snapshots, release what no current snapshot uses:
//	m.Sweep(handlersOfNewSnapshot)
//
// Manager.Sweep returns the number of upstreams it released.
//
// Handler returns the same *Handler for an identical Config, and Handlers whose upstreams
// have the same address and transport/health settings share one upstream state (pool,
// health, counters) even across routes and sites. Sweep releases every Handler that is
// neither in keep nor obtained from Handler since the previous Sweep (so a snapshot being
// built concurrently is never released under it), closes the idle connections of released
// upstreams and stops their health checks. A released Handler still serves the requests
// of an old snapshot correctly; it only loses its health checks.
//
// # Request handling
//
//   - The incoming Host header is kept (Node apps usually route or build links on it);
//     the upstream URL only decides where to connect (and the TLS server name for https).
//   - X-Forwarded-For, X-Forwarded-Host and X-Forwarded-Proto are set by
//     httputil.ProxyRequest.SetXForwarded. edge is the first trusted hop: a client's own
//     X-Forwarded-*/Forwarded headers are dropped, so X-Forwarded-For is exactly the peer
//     address, unless the peer is in [Options].TrustedProxies, in which case its
//     X-Forwarded-For is kept and the peer appended.
//   - StripPrefix removes Config.Path from the path; the remainder is joined to the
//     upstream URL's path, as httputil.ProxyRequest.SetURL does.
//   - Streams are flushed as they arrive: httputil flushes text/event-stream (SSE) and
//     responses of unknown length at once; responses of known length are written whole. WebSocket and other Upgrade requests are proxied (101 + hijack).
//
// # Balancing, ejection, retries
//
// Balance "round_robin" (default) rotates; "least_conn" picks the upstream with the fewest
// requests in flight (shared by every route using it), ties rotating.
//
// Passive health: a transport failure (dial error, connection reset or EOF before the
// response headers) ejects the upstream for 1s, doubling per consecutive failure up to 30s;
// its first success clears that. A response, whatever its status (500, 502, 503...), is an
// answer from a live upstream and is passed through unchanged without ejecting: sick but
// answering apps are what active health checks are for. A response-header timeout does not
// eject either (the app is alive but slow) and is not retried (the request may be running).
//
// When every upstream is ejected, the proxy fails open: it tries the one whose ejection
// ends first, because passive ejection is only a guess and a single-upstream site must not
// be unavailable for 30s after a restart.
//
// Retries: after a transport failure before any response byte, the request is sent to
// another, not yet tried upstream, up to Config.Retries times, when it is safe: always if
// the connection (TCP, or TLS for https) could not be established, since nothing was
// sent; otherwise only for GET, HEAD, OPTIONS, PUT, DELETE and TRACE without a body. A
// response-header timeout is never retried.
//
// Active health checks (Config.HealthCheck): each upstream gets GET HealthCheck.Path (an
// absolute path on the upstream host, not joined to the upstream URL's path) every Interval,
// bounded by Timeout, redirects not followed. It starts up; a failing check takes it out
// of rotation until a check passes (which also clears passive ejection). When active
// checks mark every upstream of a route down, the route answers 503 with Retry-After: that
// was the operator's explicit request.
//
// # Errors
//
// The client gets a short plain-text body and nothing else: "502 Bad Gateway" (connection
// refused, reset, bad response), "504 Gateway Timeout" (connect or response-header
// timeout), "503 Service Unavailable" (no upstream up). Upstream addresses and Go error
// strings go to the Manager's slog logger only.
//
// # Observability hook
//
// For access logs and metrics, put an [Info] in the request context with [WithInfo]
// before calling the Handler; after ServeHTTP returns it holds the upstream used, the
// number of attempts and the last transport error. [Options].OnUpstreamError is called
// for every failed attempt (with the upstream's base URL and the error), e.g. to count
// upstream errors in Prometheus. [Manager.Upstreams] lists every upstream's health.
package proxy
