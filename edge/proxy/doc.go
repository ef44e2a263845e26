// Package proxy is edge's reverse proxy: it forwards the requests of one route to one of
// the route's upstreams, balancing, retrying, ejecting and health-checking them.
//
// It does not import package edge: it serves the routes of the site model, [site.Route]
// (package edge/site, where every option and its default is documented), and edge asks a
// [Manager] for the [Handler] of each route of a site. The proxy applies the route's
// defaults ([site.Route.WithDefaults]) to its own copy and checks what it relies on.
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
//	// building a snapshot, once per route (cheap: a map lookup when the route is unchanged):
//	h, err := m.Handler("shop /api", route) // *site.Route; *proxy.Handler, an http.Handler
//
//	// after the new snapshot is published (Server.Publish), from the goroutine that builds
//	// snapshots, release what no current snapshot uses:
//	m.Sweep(handlersOfNewSnapshot)
//
// Manager.Sweep returns the number of upstreams it released.
//
// Handler returns the same *Handler for an identical route and name, and Handlers whose upstreams
// have the same address and transport/health settings share one upstream state (pool,
// health, counters) even across routes and sites. Sweep releases every Handler that is
// neither in keep nor obtained from Handler since the previous Sweep (so a snapshot being
// built concurrently is never released under it), closes the idle connections of released
// upstreams and stops their health checks. A released Handler still serves the requests
// of an old snapshot correctly; it only loses its health checks.
//
// # Upstream connections
//
// Bodiless GET, HEAD, OPTIONS and TRACE requests (most of a proxy's traffic) are sent by
// the upstream's own HTTP/1.1 client on the handler's goroutine: it takes a keep-alive
// connection from the upstream's pool (most recently used first, at most
// MaxIdleConnsPerUpstream, closed after the route's idle timeout), writes the request and
// reads the response there, where net/http's Transport hands each request to a writer
// and a reader goroutine. Requests with a body, upgrades and Expect: 100-continue go
// through the Transport. Both write the same bytes (Request.Write), parse responses as
// http.ReadResponse does, hold response headers to 10 MiB, pass 1xx responses to the
// request's httptrace hook, apply the response-header timeout, and send a request again on
// a fresh connection when a reused one was closed by the upstream before any response byte
// (or answered 408, its way of closing an idle connection). The usual response head
// (HTTP/1.1, a Content-Length, plain header lines, all in the connection's buffer) is read
// in one string and one value slice; any other goes to http.ReadResponse.
//
// Those requests also skip httputil.ReverseProxy (Handler.direct; what is unusual still
// goes through it: a Host or query it would rewrite, a context that never ends): the
// upstream request head is written from the incoming request straight into the pooled
// connection's buffer, with ReverseProxy's edits applied as the headers are written
// (hop-by-hop and Connection-listed headers dropped, forwarding headers as below, the path
// cleaned, stripped and joined to the upstream's), and the response's headers are moved
// into the ResponseWriter once; 1xx, trailers, flushing of streams, the 101 refusal, the
// error pages and the abort on a broken body are ReverseProxy's. A test sends every case
// both ways and compares the bytes the upstream and the client get. A body of known length
// (4 KiB or more) is copied with the client connection's writes batched (Info.Batch, set
// by the server for HTTP/1.1): what was read leaves in one write, and the batch ends
// before a read that may wait for the upstream.
//
// # Request handling
//
//   - The incoming Host header is kept (Node apps usually route or build links on it);
//     the upstream URL only decides where to connect (and the TLS server name for https).
//   - Forwarding headers: edge is the first trusted hop. From a peer that is not in
//     [Options].TrustedProxies (the default: none is), every header a client could use to
//     pass for another address or URL is dropped: Forwarded, every X-Forwarded-* header
//     (X-Forwarded-For, -Host, -Proto, -Port, -Prefix, -Ssl...), X-Real-IP,
//     True-Client-IP, X-Client-IP, X-Cluster-Client-IP, CF-Connecting-IP and
//     Fastly-Client-IP; then X-Forwarded-For is set to the peer's address,
//     X-Forwarded-Host to the request's Host and X-Forwarded-Proto to "https" (edge's
//     listener) by httputil.ProxyRequest.SetXForwarded. From a trusted peer (a load
//     balancer in front of edge) all of them are kept, the peer's address is appended to
//     X-Forwarded-For, and X-Forwarded-Host and X-Forwarded-Proto are edge's own only when
//     the peer sent none, as nginx's real_ip module trusts set_real_ip_from. The agent
//     sets TrustedProxies with --trusted-proxies (EDGE_TRUSTED_PROXIES).
//   - The path forwarded is the cleaned path ([CleanPath]: no "." or ".." segment, no
//     "//"), so that what a route matched is what its upstream gets and no dot-segment
//     climbs out of an upstream's base path. Cleaning works on the decoded path, so
//     "%2e%2e" counts as ".." and "%2f" as "/" ("/api/x/..%2f..%2fy" is "/y"), as an app
//     that decodes before normalising would see them; when cleaning changes the path the
//     cleaned form is sent re-escaped, otherwise the client's escaping is kept
//     ("/files/a%2Fb" stays). A double-encoded "%252e" is data, not a dot.
//   - StripPrefix removes the route's Path from the (cleaned) path; the remainder is
//     joined to the upstream URL's path, as httputil.ProxyRequest.SetURL does.
//   - Streams are flushed as they arrive: httputil flushes text/event-stream (SSE) and
//     responses of unknown length at once; responses of known length are written whole. WebSocket and other Upgrade requests are proxied (101 + hijack).
//
// # Balancing, ejection, retries
//
// Balance "round_robin" (default) rotates; "least_conn" picks the upstream with the fewest
// requests in flight (shared by every route using it), ties rotating.
//
// Weights (the route's Weights, 1 to site.MaxWeight each): round robin becomes nginx's
// smooth weighted round robin (weights 5, 1, 1 give a a b a c a a), exact over any multiple
// of the weights' sum and without bursts; least conn compares requests in flight divided by
// weight, ties broken by the same smooth rotation, so that at low load (nothing in flight)
// the weights still decide. An upstream that is down or ejected takes no part: its share
// goes to the others in proportion to their weights. Weighted routes take a per-route
// mutex for the choice (tens to a few hundred nanoseconds under contention, see
// BenchmarkPick); unweighted routes, and routes whose weights are all equal, keep the
// lock-free rotation.
//
// Sticky sessions (the route's Sticky): a request whose cookie names an available, untried
// upstream of the route goes there; otherwise it is balanced, and the response of the
// upstream that answered sets the cookie (Secure, HttpOnly unless turned off, SameSite, the
// route's path or the one set, the Max-Age if any). The value is 96 bits of SHA-256 over
// the cookie's name and the upstream's URL in URL-safe base64: the same on every edge server
// and in every snapshot, not the address in clear, and not a secret either (a client can
// only choose among the route's upstreams, which balancing would give it anyway). A value
// naming no upstream of the route, or one that is down or ejected, is ignored and the
// cookie set again; a retry on another upstream sets it to the one that answered. The cookie
// is passed on to the upstream with the others.
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
// another, not yet tried upstream, up to the route's Retries times, when it is safe: always if
// the connection (TCP, or TLS for https) could not be established, since nothing was
// sent; otherwise only for GET, HEAD, OPTIONS, PUT, DELETE and TRACE without a body. A
// response-header timeout is never retried.
//
// Active health checks (the route's HealthCheck): each upstream gets GET HealthCheck.Path (an
// absolute path on the upstream host, not joined to the upstream URL's path) every Interval,
// bounded by Timeout, redirects not followed. It starts up; a failing check takes it out
// of rotation until a check passes (which also clears passive ejection). When active
// checks mark every upstream of a route down, the route answers 503 with Retry-After: that
// was the operator's explicit request.
//
// # Errors and whose fault they are
//
// The client gets a short plain-text body and nothing else: "502 Bad Gateway" (connection
// refused, reset, bad response, or a status outside 100-599, which net/http could not
// send on), "504 Gateway Timeout" (connect or response-header timeout), "503 Service
// Unavailable" (no upstream up). Upstream addresses and Go error strings go to the
// Manager's slog logger only (WARN).
//
// What the client causes is never the upstream's failure: it is not passed to
// OnUpstreamError, does not eject the upstream and is not retried on another, whatever
// the transport made of it. Info.Outcome says which:
//
//   - client_closed: the client went away (closed or reset its connection, cancelled its
//     HTTP/2 stream, aborted its upload) before the response was complete; answered 499
//     when no response had started (never seen by the client, recorded for logs).
//   - client_error: a malformed request body (bad chunked encoding, more than its
//     Content-Length on HTTP/2), or an HTTP/2 :method or :authority that HTTP/1.1 could
//     not carry: 400.
//   - body_timeout: no byte of the request body arrived for the route's Timeouts.Body
//     (default 60s, nginx's client_body_timeout): the client's read is cut, the upstream request
//     cancelled (its connection freed), 408. Only a read waiting on the client counts:
//     each read restarts it, so it does not bound a slow upload that keeps sending.
//     The reverse, an upstream that stops taking the body for Timeouts.Body (nginx's
//     proxy_send_timeout; net/http starts the response timeout only once the body is
//     sent), cancels the upstream request as the upstream's fault: 504, an upstream error,
//     neither ejected nor retried.
//
// Client-side failures are logged at DEBUG. When the response body copy fails after the
// status was sent, ReverseProxy aborts the stream (panics with http.ErrAbortHandler);
// Handler releases the in-flight count, records client_closed (the client's write failed)
// or upstream_aborted (reading the upstream failed: an upstream error, reported to
// OnUpstreamError, logged at WARN, not ejected) and re-raises the panic so net/http
// resets the stream.
//
// # Observability hook
//
// For access logs and metrics, put an [Info] in the request context with [WithInfo]
// before calling the Handler; after ServeHTTP returns, or panics with
// http.ErrAbortHandler (recover it in a deferred function, record, re-panic), it holds
// the upstream used, the number of attempts, the last transport error and the Outcome.
// [Options].OnUpstreamError is called for every attempt the upstream failed (with the
// upstream's base URL and the error), e.g. to count upstream errors in Prometheus, never
// for the client's failures. [Manager.Upstreams] lists every upstream's health.
package proxy
