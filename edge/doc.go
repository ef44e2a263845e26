// Package edge is the data plane: it serves HTTPS for many sites on one listener from an
// immutable Snapshot that the agent replaces atomically. It knows nothing of git, CUE or
// Vault; its input is []*Site: each a site of the one site model, package edge/site
// (hosts, routes, redirects, headers, with their defaults), and the site's certificates
// with their private keys.
//
// # Use
//
//	srv := edge.NewServer(edge.Options{
//		Listen:      ":443",           // "127.0.0.1:0" in tests; srv.Addr() tells the port
//		HTTPListen:  ":80",            // redirects to HTTPS; edge.Off disables it
//		AdminListen: "127.0.0.1:9443", // /healthz /readyz /metrics; edge.Off disables it
//		// HTTP/3 is served over UDP on Listen's address unless HTTP3.Disabled.
//		AdminAccess: edge.AdminAccess{TokenFile: "/run/secrets/admin-token"}, // optional
//		Logger:      logger,
//		AccessLog:   edge.NewAccessLogger(os.Stdout, true),
//	})
//	srv.AdminMux().Handle("/status", statusHandler) // more admin endpoints
//	srv.Registry().MustRegister(agentCollectors...)  // more metrics on /metrics
//	if err := srv.Start(ctx); err != nil { ... }     // binds, then serves in the background
//
//	// For every new commit (srv implements reconcile.Publisher):
//	err := srv.Publish(generation, commit, sites) // build + swap; on error nothing changes
//
//	srv.Shutdown(ctx) // graceful drain: /readyz 503, GOAWAY, in-flight requests finish
//
// Server.Publish is the one way to change what is served; Server.Current returns the
// snapshot being served. The examples show a whole server, from a generated certificate
// to a proxied request.
//
// # Snapshots
//
// Server.Publish builds a Snapshot from compiled sites, wiring the server's reverse proxy,
// and checks it before it exists: duplicate names or hosts, more than one default site,
// a host no certificate of its site covers, a certificate without Leaf (or Leaves) or key, a site
// with neither routes nor redirects, malformed routes, redirects or headers. Every
// problem is reported, each naming its site and wrapping an ErrXxx kind.
//
// It holds maps from host to site (exact names, and wildcard patterns by parent domain),
// each site's routes sorted longest prefix first, and one prebuilt *tls.Config. Lookups
// are two map reads and a scan of one site's routes: the same cost for 10,000 sites as
// for one. Route handlers come from the long-lived proxy.Manager: a site that is the very
// same *Site as in the current snapshot keeps its handlers without asking the manager,
// and after a swap the manager releases the upstreams no snapshot uses.
//
// Publish then stores the snapshot in an atomic pointer. Each handshake and each request
// reads the pointer once and is served entirely by the snapshot it read: nothing in
// flight is dropped, nothing waits on a lock, and the next handshake and request (on open
// connections too) use the new snapshot.
//
// # TLS
//
// TLS 1.2 and 1.3, ECDHE with AEAD suites only, X25519MLKEM768, X25519 and P-256, ALPN h2
// and http/1.1. GetConfigForClient hands out the current snapshot's configuration. The
// certificate is chosen by SNI: the exact name, else a wildcard covering exactly one
// label; case-insensitive, a trailing dot ignored. Among a site's certificates covering
// the name (at most one per key type) the first the client supports is served
// (ClientHelloInfo.SupportsCertificate), so ECDSA-capable clients get ECDSA and RSA-only
// ones RSA.
//
// An unknown SNI, or none, is answered by the site with Default set; without one the
// handshake is refused with an unrecognized_name alert and no certificate is sent.
//
// Session ticket keys belong to the listener, not to snapshots, so resumption survives
// swaps. They rotate every Options.TicketKeyRotation (12h), the last three decrypting;
// Server.SetSessionTicketKeys installs keys from outside (a fleet sharing them) and stops
// the rotation.
//
// # Requests
//
// A request is answered only if its Host belongs to the same site as the connection's
// SNI in the current snapshot; otherwise 421 Misdirected Request (RFC 9110 §15.5.20).
// This also covers open connections of a site that a swap removed or moved. A connection
// that got the default site for an unknown or absent SNI is answered by the default site
// for any Host no other site claims.
//
// Then the site's redirects (longest path prefix first, 308 unless declared), then its
// route with the longest path prefix, segment-aware ("/api" matches "/api" and "/api/x",
// not "/apix"), on the path with dot segments and double slashes resolved
// (proxy.CleanPath, on the decoded path: "%2e%2e" is "..", "%2f" a slash). When cleaning
// changes the path, the cleaned path is what redirects keep and what the upstream gets
// ("/api/../api/x" is forwarded as "/api/x", never as a dot-segment that a normalising app
// would resolve outside an upstream's base path); a path that needs no cleaning is
// forwarded as the client escaped it. No route: 404. CONNECT: 405.
//
// A site in maintenance (site.Maintenance) answers every request 503 with its page and
// Retry-After before redirects and routes. After the redirects, the site's rewrites
// (site.Rewrite) give the cleaned path a new path and query, the first matching rewrite
// once; the result is cleaned and is what routes match and the upstream gets. Every
// response the edge makes itself goes through writeError, which sends the site's error
// page for the status (site.ErrorPages) or plain text; a 421 gets the page of the
// connection's site. The proxy's own 502/503/504, and upstream 5xx when the site asks,
// get the page through the proxy.ErrorWriter attached to the request (errorPagesHandler).
//
// The site's header changes apply to every response of the site, its redirects and
// errors included: Remove, then Set, then HSTS when declared. Responses are streamed
// (flushes pass through) and upgrades (WebSocket) work. At most 8 informational (1xx)
// responses of an upstream are passed on per request; a flood of them is dropped.
//
// The plain-HTTP listener redirects any host of the current snapshot to the same host,
// path and query over HTTPS: 301 for GET and HEAD, 308 (method and body kept) otherwise.
// Other hosts get 404: it never redirects to a name it does not serve.
//
// # Client address and access control
//
// With Options.ProxyProtocolFrom, connections to the HTTPS and plain-HTTP listeners from
// those load balancers must start with a PROXY protocol header (v1 or v2, read in the
// connection's goroutine within ReadHeaderTimeout, at most 107 or 16+1024 bytes; anything
// else closes the connection, counted in edge_proxy_protocol_errors_total{reason}); the
// client it names is the connection's RemoteAddr, so r.RemoteAddr, the access log,
// X-Forwarded-For, the passthrough's own PROXY header and every rule use it. A header from
// any other peer is never read: it is neither TLS nor HTTP and fails as such.
//
// Access steps (access.go): right after the site is known, the site's IP rule (403) and
// rate limit (429 with Retry-After); before redirects, the site's forbidden path patterns
// (404, on the cleaned path); around a route's handler, the route's IP rule and rate limit.
// IP rules: deny wins, then a non-empty allow list must match; IPv4-mapped addresses are
// IPv4. Rate limits: a token bucket per client address (IPv6 /64, IPv4 /32 by default) or
// header value, in a table of at most MaxClients buckets per limit (least recently seen
// dropped), kept by each server for itself. Denials are counted in
// edge_requests_denied_total{site,reason} through Denials, which other steps (basic and
// forward auth, client certificates) call with their reason.
//
// # Authentication
//
// A route may ask for Basic credentials (site.Route.BasicAuth; the users' password hashes
// arrive in Site.Users, read from Vault by the agent) or ask an auth service about every
// request (site.Route.ForwardAuth). Both wrap the route's handler (Unwrap returns it).
// Basic auth removes the Authorization header before the app; a wrong or missing one gets
// 401 with the realm's challenge. Password checks are bounded: hashes of bounded cost
// (package passwd), at most GOMAXPROCS checks at once in the process, a good check
// remembered for a minute under a keyed hash of the credentials, an unknown user checked
// against a real hash so that it takes as long. Forward auth denies by default: the
// service's non-2xx answer is the client's, no answer in time (or an error) is 503; on a
// 2xx the declared response headers are set on the request, a client's own copies of them
// removed first whatever the answer.
//
// A site with ClientAuth (mTLS) gets a TLS configuration of its own, built at swap: the
// snapshot's with the site's CAs, RequireAndVerifyClientCert or VerifyClientCertIfGiven,
// and session tickets off (crypto/tls would resume a session verified for another site's
// CAs without verifying it again). Other sites' handshakes get the shared configuration,
// at the cost of one nil check, and are never asked for a certificate. Every request of
// every site loses the client's X-Client-Cert-Subject and X-Client-Cert-Fingerprint; a
// site with ClientAuth gets the verified leaf's subject (percent-encoded where a header
// could not carry it) and SHA-256 fingerprint there. A request for such a site on a
// connection of another site gets 421 like any such request, and one on a connection
// without a verified certificate (opened before the site required one) gets 403.
// Denials are counted in edge_requests_denied_total{site,reason}.
//
// # ACME challenges
//
// With Server.SetChallenges, ACME challenges are answered from a ChallengeSource before
// anything else: GET /.well-known/acme-challenge/<token> on the plain-HTTP listener (also
// for names not served yet, whose certificate is being ordered), and on the HTTPS listener
// a ClientHello offering only the ALPN protocol acme-tls/1 gets the TLS-ALPN-01 challenge
// certificate (RFC 8737) instead of the site's. The agent's source reads the material from
// Vault, so any edge server of the fleet answers the CA.
//
// # Limits
//
// Options.Limits bound what a client can hold: ReadHeaderTimeout (handshake and headers,
// against slowloris), IdleTimeout, MaxHeaderBytes (431; for HTTP/2 the header list, an
// oversized block closes the connection), HTTP/2 MaxConcurrentStreams, frame size and
// flow-control windows, a cap on open connections, WriteByteTimeout (30 s: a client that
// keeps its connection open but stops reading fails its HTTP/1.1 or HTTP/2 connection,
// and one that grants a stream no flow-control credit its HTTP/2 or HTTP/3 stream,
// instead of holding a handler and its upstream; bytedeadline.go, h2srv/stall.go).
// HTTP/2 rapid reset (CVE-2023-44487)
// is bounded by Go's server, which never runs more handlers per connection than
// MaxConcurrentStreams and closes connections that queue more than four times that
// (ENHANCE_YOUR_CALM); limits_test.go checks it against this configuration.
//
// # HTTP/2 conformance
//
// HTTP/2 is Go's server: the copy of golang.org/x/net/http2 bundled in net/http
// (h2_bundle.go), configured through http.Server.HTTP2. The h2spec suite (v2.2.1, all 145
// non-strict cases; TestH2spec in tests/) passes 142. The three failures are decided by
// that server before any edge code runs, and neither http.Server nor x/net's
// http2.Server has an option or hook to change them; edge would have to parse the
// frames of every connection itself, which it does not:
//
//   - 8.1.2.2/1 and /2: a request carrying a connection-specific header field
//     (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade) or TE
//     other than "trailers" is malformed (RFC 9113 §8.2.2). serverConn.processHeaders
//     (checkValidHTTP2RequestHeaders) replaces the handler with one answering 400 Bad
//     Request, and the stream ends normally. The request is refused: edge's handler is
//     not called, nothing reaches an upstream (so there is no access-log line or metric
//     for it either). RFC 9113 §8.1.1 lets a server answer a malformed request before
//     closing the stream; h2spec wants RST_STREAM or GOAWAY with PROTOCOL_ERROR
//     (golang/go#26321, summerwind/h2spec#120). HTTP/1.1 requests keep these fields
//     legal, Upgrade included (WebSocket).
//   - 6.5.3/1: the RFC applies the values of a SETTINGS frame in order, a repeated
//     setting included; serverConn.processSettings hangs up on a frame repeating one
//     (GOAWAY PROTOCOL_ERROR, "settings_big_or_dups"), on purpose, against abusive
//     peers. Real clients do not send one.
//
// One deviation h2spec does not count: a HEADERS frame whose pad length is not less than
// its payload is a connection error by RFC 9113 §6.2, but Go's framer (parseHeadersFrame,
// "frame_headers_pad_too_big") makes it a stream error: the stream is reset with
// PROTOCOL_ERROR and the connection carries on. h2spec's case 6.2/4 states the
// connection error but accepts a stream error, so it passes. No server option changes
// it; the offending client loses only its stream.
//
// Writes: Go's HTTP/2 server flushes whenever its queue of frames is empty, each flush a
// TLS record written from a goroutine of its own, so a response used to leave as two write
// system calls (HEADERS, which the handler waits for, then DATA). Once ALPN chose h2, the
// connection under crypto/tls (helloConn) hands its writes to a writeCoalescer
// (writecoalescer.go): records queue, and one flusher yields to the goroutines already
// runnable before writing everything pending in one system call, the frames of a response
// and of the streams completing meanwhile together. Frames and their order are the
// server's; a failed write fails the next, a client that stops reading blocks the server
// beyond 64 KiB pending, and each write to the socket is bounded by
// Limits.WriteByteTimeout (30 s), so a stuck client still fails its connection.
//
// Edge's HTTP/2 server (Limits.HTTP2Server, HTTP2ServerEdge by default; HTTP2ServerGo and
// edgectl agent --http2-server go fall back to net/http's) is a fork of the
// server side of golang.org/x/net/http2 v0.62.0 in edge/internal/h2srv, with net/http's
// request parsing (Go's net/http/internal/httpcommon), so requests are accepted and
// refused as above and h2spec gives the same results. It changes mostly goroutine hand-offs
// (edge/internal/h2srv/README.md lists each change, marked "edge:" in the code): once a
// handler has returned, its headers and a last chunk of up to 4 KiB (copied) go to the
// serve goroutine in one message that also ends the handler, without the handler waiting
// for either write; and a flush, HEADERS frame or large DATA frame whose TLS records fit
// in the writeCoalescer's room is written on the serve goroutine instead of from a new
// goroutine. Handlers run on reused goroutines (a process-wide pool, at most 1024 idle),
// a response allocates less (the Date value formatted once a second, one header snapshot
// slice), and frames already buffered behind the one the read goroutine handed over are
// handled on the serve goroutine in the same wake-up (up to 16; nothing is read after a
// terminal read error). Streams, flow control, limits (rapid reset, CONTINUATION floods,
// control frames), streaming responses and trailers are upstream's.
// TestHTTP2ServersAnswerAlike compares the answers of the two servers;
// EDGE_TEST_HTTP2_SERVER=go runs this package's tests on net/http's, and edgectl's
// EDGE_HTTP2_SERVER=go the tests/ suite. Re-sync with x/net:
// edge/internal/h2srv/resync.sh (README.md there).
//
// HTTP/1.1 over TLS is served by edge's own loop (h1server.go, h1conn.go; Options.HTTP1,
// edgectl agent --http1-server go falls back to net/http's server). It accepts the
// connections, does their handshake with net/http's timeouts and error reporting, and
// hands those that chose h2 to the HTTPS http.Server, whose HTTP/2 is unchanged. It reads
// HTTP/1.1 requests with http.ReadRequest and writes responses with net/http's rules
// (h1head.go: Content-Length or chunked, sniffed Content-Type, Date, Connection: close,
// 1xx, trailers, HEAD, Flush, ResponseController deadlines), but without net/http's
// goroutine per request: a client leaving while its request is served is noticed by a read
// started only once the handler has run 20 ms (h1bgread.go), as net/http cancels the
// request's context (for a request with a body, once it is read whole). A request the loop
// does not serve itself (a chunked body, Expect, Upgrade, HTTP/1.0, CONNECT, OPTIONS *, an
// absolute URI, a header over 4 KiB or one net/http would refuse) goes, with the rest of
// its connection and the bytes already read, to net/http's server, decided before any
// handler runs. Shutdown closes idle connections and waits for
// active ones as http.Server.Shutdown does. TestH1LoopMatchesNetHTTP sends the same
// requests to both servers and compares the bytes (Date aside); FuzzH1LoopMatchesNetHTTP
// does it for any bytes. The loop costs about 8 % less CPU per proxied request (one read
// system call fewer; tests/bench/h1serve.sh).
//
// HTTP/1.1 responses go through a 4 KiB buffer (the loop's, as net/http's), so an 8 KiB
// body left as two TLS records and writes, a 64 KiB one as six or seven. While the proxy
// copies a body of known length that is at hand, the helloConn batches the records
// (h1batch.go) and writes them in one system call when the proxy is about to wait for the
// upstream, when the server is done with the response (it sets the connection's deadlines
// next) or at 64 KiB: 8 KiB bodies take one write instead of two, 64 KiB ones about three
// instead of six.
//
// TestH2spec pins the pass count and this exact list: a new failure fails it, and so
// does a listed one that starts passing. It runs h2spec with --max-header-length 16384
// so that case 4.2/3 (a HEADERS frame over SETTINGS_MAX_FRAME_SIZE) exceeds the 64 KiB
// edge advertises rather than the 16 KiB default h2spec assumes.
//
// # HTTP/3
//
// HTTP/3 is on by default (Options.HTTP3; HTTP3Options.Disabled turns it off): QUIC
// (github.com/quic-go/quic-go) over UDP on the HTTPS listener's host and port, the port as
// bound (Server.HTTP3Addr). One quic.Transport owns the UDP socket for the server's life.
// Its TLS configuration resolves each handshake from the current snapshot exactly as TCP
// does (GetConfigForClient: the same certificate choice, the same refusal of unknown or
// absent SNI with no certificate sent, ALPN h3), so Publish never touches open QUIC
// connections: a handshake uses the snapshot current at its ClientHello, every request
// the snapshot current when it starts, and streams in flight finish on theirs. Requests go
// through the same handler as over TCP: the 421 rule (the Host's site must be the SNI's),
// redirects, headers, routes, metrics and access log, with proto "h3" (the label values
// are ALPN names: h3, h2, http/1.1, http/1.0). Responses over TCP carry
// Alt-Svc: h3=":PORT"; ma=86400 while HTTP/3 is on (not during Shutdown).
//
// Limits: 0-RTT is off (early data can be replayed). QUIC connections are capped by
// Limits.MaxConns (counted separately from TCP; beyond it new connections are refused
// with CONNECTION_REFUSED, edge_quic_connections_refused_total); streams per connection
// by MaxConcurrentStreams (HTTP/2's; 8 unidirectional streams, HTTP/3 needs 3); flow
// control windows by MaxReceiveBufferPerStream and PerConnection; the handshake by
// ReadHeaderTimeout, and a request stream's HEADERS frame too; request bodies by ReadTimeout and
// responses by WriteTimeout when set (as over TCP); a response the client stops taking
// (its stream's or connection's flow-control credit withheld while the connection stays
// alive) by WriteByteTimeout (30 s for each 16 KiB; then the stream is reset and the
// proxy lets go of its upstream), as HTTP/2's connection writes; idle connections by IdleTimeout;
// headers by MaxHeaderBytes. Request
// bodies are handled by the reverse proxy as over TCP (route body timeout). Address
// validation: when more than HTTP3Options.RetryThreshold handshakes (default 100) are in
// progress, a new connection attempt gets a Retry and must echo its token from the
// address it claims before the server spends any cryptography on it, so a flood of
// spoofed Initial packets costs one small packet each (edge_quic_retries_total);
// AlwaysRetry does it for every connection at one round trip each. Open QUIC connections
// are edge_connections_open{listener="quic"}.
//
// HTTP/3 itself (RFC 9114) is edge's own layer on quic-go's streams
// (edge/internal/h3srv), not quic-go's http3.Server: request streams are served on reused
// workers that run the handler directly; a request, its body, its context and its
// response writer are one allocation; field sections are decoded with QPACK's static table
// into one string (a connection's repeated Huffman-coded strings from a small cache); the
// response's header is taken at WriteHeader, as net/http does, and encoded with the
// static table without Huffman coding; a response that fits the 16 KiB buffer leaves in
// one stream write before the FIN, with a Content-Length; the responses whose handlers
// end together on a connection are written in a row, so quic-go packs them into shared
// packets, and the grants of new streams (MAX_STREAMS) leave with the next such batch
// (quic.Config.RequireStreamCreditRelease). A request's context ends when
// its client stops it (STOP_SENDING or a reset), watched once the handler has run 20 ms
// (as the HTTP/1.1 loop's background read). It refuses what RFC 9114 and RFC 9204 make
// errors (malformed requests: H3_MESSAGE_ERROR; frames out of place: H3_FRAME_UNEXPECTED;
// truncated frames: H3_FRAME_ERROR; control stream and QPACK stream violations; header
// sections over MaxHeaderBytes: 431), bounds the time to a request's HEADERS frame by
// ReadHeaderTimeout (H3_REQUEST_INCOMPLETE), and closes connections idle for IdleTimeout.
// The wire-level tests (edge/internal/h3srv/*_wire_test.go) speak raw frames to it over
// real QUIC connections; FuzzReadRequest feeds it any request stream.
//
// Shutdown closes the QUIC listener (handshakes in flight are refused, established
// connections stay), sends GOAWAY (new request streams are refused with
// H3_REQUEST_REJECTED), and lets requests finish until its context ends; a connection
// whose last request has ended closes a second later (or when the client closes it, as
// clients do after a GOAWAY), so its last responses are delivered. Then it closes the
// remaining connections and the socket, in parallel with the TCP drain.
// # Passthrough sites
//
// A site with Passthrough set (site.Passthrough: TCP upstreams, balance, PROXY protocol,
// timeouts, health check) is not terminated: its upstream, an app with its own
// tls.createServer, holds the certificate and key. Such a site has no certificates,
// routes, redirects or headers and cannot be the default site (a ClientHello without SNI
// or with an unknown one is never passed through). Its hosts, exact and wildcard, are
// indexed with the terminated sites' in one name space, so Publish refuses a name claimed
// by both (ErrDuplicateHost) like any duplicate.
//
// A connection whose whole ClientHello has arrived when it is accepted (the listener sets
// TCP_DEFER_ACCEPT on Linux) is routed at accept by helloSNI, a reader held to crypto/tls
// by a differential fuzz test that abstains on anything unusual. On Linux, while the
// snapshot has passthrough sites, the event loops accept from the listener themselves,
// in turns of 16 connections (passthrough.Acceptor), each routing, opening the upstream
// and copying on its own goroutine; they queue every other connection, with the bytes
// read, for the listener's Accept.
// Otherwise the SNI is read
// by crypto/tls itself: every connection of the TLS listener records the bytes the handshake reads (at most 16 KiB plus record headers)
// until GetConfigForClient, which crypto/tls calls once the whole ClientHello is parsed
// and before it writes anything. For a terminated site recording stops and the handshake
// goes on exactly as before. For a passthrough site the connection is detached from
// crypto/tls (its alert and Close go nowhere) and handed, with the recorded bytes, to the
// site: an upstream is dialed (round robin or least connections among the upstreams not
// ejected or down; a refused dial ejects its upstream for 1s, doubling to 30s, and the
// next one is tried; when none is available all are tried), the PROXY protocol v2 header
// is written if asked (TCP over IPv4 or IPv6, the client's address and the address it
// connected to), then the recorded ClientHello, and the bytes are copied both ways with
// splice(2), a TCP half-close passed on: on Linux by a few event loops (one goroutine
// each, GOMAXPROCS of them, epoll over both sockets of every connection, as HAProxy
// does; passthrough.Start), elsewhere by two goroutines per connection (passthrough.Pipe). A ClientHello split across segments and records
// is reassembled by crypto/tls; one that never finishes is closed at the handshake timeout
// (Limits.ReadHeaderTimeout) like any other (edge_tls_handshake_errors_total{reason=
// "timeout"}); one for a passthrough site larger than the record cap is closed and counted
// (edge_passthrough_refused_total{reason="clienthello_too_large"}). A connection with no
// byte either way for the site's idle timeout is closed (by the event loop within a
// quarter of the timeout after it, at most 500 ms; by Pipe within twice the timeout). Declared health checks are TCP connects.
//
// A passthrough connection holds its upstream connection, not the snapshot: it stays open
// across swaps. A site removed (or changed) by a swap takes no new connection under its
// old definition, and its health checks stop. Shutdown lets open passthrough connections
// run until its context ends, then closes them. They count in edge_connections_open and
// against Limits.MaxConns like any connection of the listener. The plain-HTTP listener
// redirects a passthrough site's hosts to HTTPS like any other; an HTTPS request whose
// connection is terminated but whose SNI is now a passthrough site's gets 421. Passthrough
// is TCP only: a snapshot's certificate lookup refuses a passthrough site's names.
//
// Metrics, by site: edge_passthrough_connections_total, edge_passthrough_connections_open,
// edge_passthrough_upstream_dial_errors_total, and edge_passthrough_bytes_total by
// direction (to_upstream, to_client; the PROXY header and the replayed ClientHello
// included); edge_passthrough_refused_total by reason (clienthello_too_large,
// no_upstream, draining). Package edge/passthrough holds the pool, the PROXY header and
// the copy.
//
// # Admin listener
//
// The admin listener (Options.AdminListen, 127.0.0.1:9443) serves /healthz, /readyz,
// /metrics and whatever is mounted on Server.AdminMux. Options.AdminAccess guards it: a
// bearer token from a file (re-read when the file changes, compared in constant time), TLS
// with a certificate re-read when its files change, client certificates of a CA, or a
// token and client certificates together, then both required. The guard wraps the whole
// mux with an allow-list of open paths (/healthz, /readyz and AdminAccess.OpenPaths), so an
// endpoint mounted later is protected by default. Missing or wrong token: 401 with
// `WWW-Authenticate: Bearer realm="edge admin"` and a Basic challenge (browsers then ask
// for the token as password, any user name); no client certificate: 403 (the handshake
// accepts none so that probes work; one that does not verify fails the handshake). The
// Authorization header is removed before the mounted handlers run. Refusals are counted in
// edge_admin_requests_denied_total by reason. Start refuses a non-loopback admin address
// without a token or client CA unless AdminAccess.Insecure (ErrAdminExposed).
//
// # Observability
//
// Metrics live in Server.Registry (served on the admin /metrics): requests by site and
// status class (1xx to 5xx, or client_closed: the client left before the response was
// complete, status 499 when it left before any), responses by code, request duration by
// protocol, upstream errors by site (only failures the upstream caused: never a client
// closing, a malformed or stalled request body),
// TLS handshakes and handshake failures by reason (unknown_sni, no_sni, timeout, eof,
// protocol_version, no_shared_cipher, remote_alert, client_certificate, not_tls, other),
// snapshot generation, size and swaps, seconds to certificate expiry by site, open connections. Per-site
// series are bounded by the number of sites and deleted when a site goes away.
//
// The access log (Options.AccessLog, log/slog) has one line per request with site, host,
// method, path (no query), status, bytes, duration_ms, upstream, attempts, outcome, proto,
// remote. outcome is present when the request did not end normally: client_closed,
// client_error (400: malformed body, invalid HTTP/2 method or authority), body_timeout
// (408), upstream_error (502/503/504), upstream_aborted (the upstream broke off mid-body)
// or panic. Every request is logged and counted however its handler ends, aborted
// responses (http.ErrAbortHandler, re-raised after the accounting so net/http still
// resets the stream) included; status is the status sent, or 499 when none was.
package edge
