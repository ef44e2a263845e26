package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge/passthrough"
	"github.com/edgectl/edge/edge/proxy"
	"github.com/prometheus/client_golang/prometheus"
)

// Off disables a listener when given as its address in Options.
const Off = "off"

// Default listener addresses.
const (
	DefaultListen      = ":443"
	DefaultHTTPListen  = ":80"
	DefaultAdminListen = "127.0.0.1:9443"
)

// Options configure a Server. The zero value serves on :443, :80 and 127.0.0.1:9443.
type Options struct {
	// Listen is the HTTPS listener's address. Empty means ":443". ":0" picks a free port
	// (see Server.Addr).
	Listen string
	// HTTPListen is the plain-HTTP listener's address; it redirects known hosts to HTTPS.
	// Empty means ":80"; Off disables it.
	HTTPListen string
	// AdminListen is the admin listener's address (/healthz, /readyz, /metrics and what is
	// mounted on AdminMux). Empty means "127.0.0.1:9443"; Off disables it. Start refuses a
	// non-loopback address unless AdminAccess requires credentials or is Insecure.
	AdminListen string
	// AdminAccess is the admin listener's access control: a bearer token, TLS, client
	// certificates. The zero value is none (loopback only).
	AdminAccess AdminAccess
	// HTTPSPort is the port written in the plain-HTTP listener's redirects. Zero means
	// the port the HTTPS listener bound; 443 is left out of the URL.
	HTTPSPort int
	// Logger receives swaps, listener errors and (at debug level) failed handshakes. Nil
	// means slog.Default().
	Logger *slog.Logger
	// AccessLog receives one line per request (see NewAccessLogger). Nil means none.
	AccessLog *slog.Logger
	// Limits bound what clients can make the server hold. The zero value has defaults.
	Limits Limits
	// Registry receives the server's metrics and is served on /metrics; more collectors
	// may be registered into it. Nil means a new registry with the Go and process
	// collectors (see Server.Registry).
	Registry *prometheus.Registry
	// Proxy configures the reverse proxy. Its Logger defaults to Logger.
	Proxy proxy.Options
	// TicketKeyRotation is how often session ticket keys are rotated while they are not
	// set with SetSessionTicketKeys. Zero means DefaultTicketKeyRotation.
	TicketKeyRotation time.Duration
	// HTTP3 configures HTTP/3 over UDP on Listen's address; the zero value serves it.
	HTTP3 HTTP3Options
	// ProxyProtocolFrom lists the load balancers' networks whose connections to the HTTPS
	// and plain-HTTP listeners start with a PROXY protocol header (v1 or v2), which must
	// then be there; the client address it gives is the connection's RemoteAddr. Empty
	// means no PROXY protocol. Connections from other peers are served as they are.
	ProxyProtocolFrom []netip.Prefix
	// HTTP1 chooses the server of HTTP/1.1 over TLS: empty or HTTP1Edge means edge's own
	// loop (h1conn.go: net/http's behaviour at less CPU per request), HTTP1Go net/http's
	// server. Start refuses other values.
	HTTP1 string
}

// Server is edge's data plane: the HTTPS listener serving the current Snapshot, the
// plain-HTTP redirect listener and the admin listener. Create it with NewServer, Start it,
// publish snapshots with Publish and stop it with Shutdown. Its
// methods are safe for concurrent use.
type Server struct {
	opts      Options
	limits    Limits
	log       *slog.Logger
	accessLog *slog.Logger
	registry  *prometheus.Registry
	metrics   *metrics
	proxy     *proxy.Manager
	tlsConfig *tls.Config // the listener's: GetConfigForClient and session ticket keys
	tickets   *ticketKeys
	// h3TLSConfig is the QUIC listener's: GetConfigForClient (h3) and ticket keys.
	h3TLSConfig *tls.Config
	adminMux    *http.ServeMux

	state atomic.Pointer[served]

	publishMu sync.Mutex // one Publish at a time
	swapMu    sync.Mutex // one swap at a time

	mu                          sync.Mutex // guards the fields below
	started, closed             bool
	httpsSrv, httpSrv, adminSrv *http.Server
	h3                          *quicServer              // nil: HTTP/3 off or not started
	h1                          *h1Server                // nil: net/http serves HTTP/1.1 (HTTP1Go)
	altSvc                      atomic.Pointer[[]string] // Alt-Svc of TCP responses; nil: none
	addr, httpAddr, adminAddr   net.Addr
	redirectPort                string             // written before the HTTP listener serves
	stop                        context.CancelFunc // stops ticket rotation
	wg                          sync.WaitGroup     // serving goroutines
	draining                    atomic.Bool

	// Upgraded connections (WebSocket...) are hijacked, so http.Server.Shutdown neither
	// waits for nor closes them: the server counts them, and every request's context
	// derives from base, cancelled at the end of Shutdown to close those still open.
	upgrades   atomic.Int64
	base       context.Context
	cancelBase context.CancelFunc

	// Passthrough connections are not http.Server's either: Shutdown drains them itself.
	passthroughs passthroughConns
	// ptEarly counts the connections routed at accept time, by where their upstream was
	// opened: inline in the accepting goroutine, or handed to a worker; and those an
	// event loop accepted (loopaccept_linux.go), and of them those it queued for Accept
	// (tests read them).
	ptEarly struct{ inline, handed, looped, queued atomic.Int64 }

	// challenges answers ACME challenges (SetChallenges); nil: none.
	challenges atomic.Pointer[challengeHolder]
}

// served is the published state: a snapshot and the TLS configuration handed out for it.
type served struct {
	snap *Snapshot
	tls  *tls.Config
	tls3 *tls.Config // tls for QUIC (ALPN h3)
	// clientAuth are the configurations of the sites with ClientAuth (mTLS); nil if none.
	clientAuth map[*siteEntry]clientAuthTLS
}

// NewServer returns a server that is not listening yet and serves no snapshot: until the
// first Publish every handshake is refused and /readyz answers 503.
func NewServer(opts Options) *Server {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.HTTPListen == "" {
		opts.HTTPListen = DefaultHTTPListen
	}
	if opts.AdminListen == "" {
		opts.AdminListen = DefaultAdminListen
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.TicketKeyRotation <= 0 {
		opts.TicketKeyRotation = DefaultTicketKeyRotation
	}
	reg := opts.Registry
	if reg == nil {
		reg = newRegistry()
	}
	s := &Server{
		opts:      opts,
		limits:    opts.Limits.withDefaults(),
		log:       opts.Logger,
		accessLog: opts.AccessLog,
		registry:  reg,
		adminMux:  http.NewServeMux(),
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.metrics = newMetrics(reg, s.Current)
	passthrough.SetLogger(opts.Logger) // the event loops' and pipes' warnings (process-wide)
	popts := opts.Proxy
	if popts.Logger == nil {
		popts.Logger = opts.Logger
	}
	s.proxy = proxy.NewManager(popts)
	s.tlsConfig = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		NextProtos:         nextProtos,
		GetConfigForClient: s.getConfigForClient,
	}
	s.h3TLSConfig = s.newH3TLSConfig()
	s.tickets = newTicketKeys(s.tlsConfig, s.h3TLSConfig)
	s.mountAdmin()
	return s
}

// Registry returns the registry the server's metrics are in, for more collectors.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// AdminMux returns the admin listener's mux, to mount more handlers (e.g. /status,
// /webhook) before or after Start.
func (s *Server) AdminMux() *http.ServeMux { return s.adminMux }

// Current returns the snapshot being served, or nil before the first Publish.
func (s *Server) Current() *Snapshot {
	if st := s.state.Load(); st != nil {
		return st.snap
	}
	return nil
}

// build builds a snapshot of sites whose routes are served by the server's reverse proxy.
// Routes of sites unchanged since the current snapshot (the same *Site) keep their
// handlers; identical routes share one. It does not publish the snapshot.
func (s *Server) build(generation uint64, commit string, sites []*Site) (*Snapshot, error) {
	return buildSnapshot(generation, commit, sites, s.withRouteAccess(routeHandlers(s.proxy, s.metrics.compress, s.metrics.access.denials())), s.Current())
}

// swap publishes snap: the next handshake and the next request, on new and open
// connections alike, use it. Requests in flight finish on the snapshot they started
// with. Upstream state no longer used by snap is released afterwards. swap is meant to be
// called by one goroutine (the agent's); concurrent calls are serialized.
func (s *Server) swap(snap *Snapshot) error {
	if snap == nil {
		return errNilSnapshot
	}
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	cfg := newTLSConfig(snap.getCertificate)
	cfg.VerifyConnection = s.handshakeDone
	old := s.state.Swap(&served{snap: snap, tls: cfg, tls3: h3Variant(cfg), clientAuth: clientAuthConfigs(snap, cfg)})
	s.metrics.generation.Set(float64(snap.generation))
	s.metrics.sites.Set(float64(len(snap.sites)))
	s.metrics.swaps.Inc()
	if old != nil && snap.generation <= old.snap.generation {
		s.log.Warn("snapshot generation not increasing", "generation", snap.generation, "previous", old.snap.generation)
	}
	// Series of sites no longer served go, including any a request still in flight on an
	// older snapshot brought back after the previous swap.
	s.metrics.forgetSitesExcept(func(name string) bool { return snap.byName[name] != nil })
	s.swapPassthrough(snap, old)
	released := s.proxy.Sweep(proxyHandlers(snap))
	s.log.Info("snapshot swapped", "generation", snap.generation, "revision", snap.commit,
		"sites", len(snap.sites), "upstreams_released", released)
	return nil
}

// Publish builds a snapshot of sites and swaps it in: the one way to change what the
// server serves. Sites are checked for consistency first (the error, if any, joins one
// error per problem, each naming its site and wrapping an ErrXxx kind such as
// ErrDuplicateHost); on error nothing changes. Sites unchanged since the current snapshot
// (the same *Site) keep their prepared entries and route handlers. The sites must not
// change afterwards. generation should increase with every call. Publish implements
// reconcile.Publisher.
func (s *Server) Publish(generation uint64, commit string, sites []*Site) error {
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	snap, err := s.build(generation, commit, sites)
	if err != nil {
		return err
	}
	return s.swap(snap)
}

// SetSessionTicketKeys sets the keys that encrypt (the first) and decrypt (all) TLS
// session tickets, e.g. the same keys on every server of a fleet, and stops their
// automatic rotation; nil resumes automatic rotation with a new key. At most 16 keys.
func (s *Server) SetSessionTicketKeys(keys [][32]byte) error { return s.tickets.set(keys) }

// Start binds the listeners and serves them in the background. It returns once they are
// bound (see Addr, HTTPAddr, AdminAddr) or the first error binding them or setting up the
// admin listener's access control (see AdminAccess), in which case nothing is left
// listening. ctx bounds binding only.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.started {
		return errors.New("edge: server already started")
	}
	if h := s.opts.HTTP1; h != "" && h != HTTP1Edge && h != HTTP1Go {
		return errHTTP1
	}
	var admin *adminSetup
	if s.opts.AdminListen != Off {
		var err error
		if admin, err = s.prepareAdmin(s.adminMux); err != nil {
			return err
		}
	}
	lc := listenConfig()
	var lns []net.Listener
	fail := func(err error) error {
		for _, l := range lns {
			l.Close()
		}
		return err
	}
	listen := func(addr string) (net.Listener, error) {
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return nil, fail(fmt.Errorf("edge: listen %s: %w", addr, err))
		}
		lns = append(lns, ln)
		return ln, nil
	}
	httpsLn, err := listen(s.opts.Listen)
	if err != nil {
		return err
	}
	deferAccept(httpsLn, 1) // TLS clients speak first: accepted with their ClientHello
	var httpLn, adminLn net.Listener
	if s.opts.HTTPListen != Off {
		if httpLn, err = listen(s.opts.HTTPListen); err != nil {
			return err
		}
	}
	if admin != nil {
		if adminLn, err = listen(s.opts.AdminListen); err != nil {
			return err
		}
		if err := s.checkExposure(adminLn.Addr()); err != nil {
			return fail(err)
		}
	}

	if err := s.startQUIC(ctx, httpsLn.Addr()); err != nil {
		return fail(err)
	}
	if err := s.startHTTPS(httpsLn); err != nil {
		return fail(err)
	}
	if httpLn != nil {
		s.startHTTP(httpLn)
	}
	if adminLn != nil {
		s.startAdmin(adminLn, admin)
	}
	s.startTicketRotation()
	s.started = true
	s.log.Info("edge listening", "https", s.addr.String(), "http2_server", s.limits.HTTP2Server, "http3", s.h3 != nil, "http", addrString(s.httpAddr), "admin", addrString(s.adminAddr),
		"admin_tls", admin != nil && admin.tls != nil, "admin_token", s.opts.AdminAccess.TokenFile != "",
		"admin_client_ca", s.opts.AdminAccess.ClientCA != "")
	return nil
}

// startHTTPS serves TLS (HTTP/1.1 and HTTP/2, and passthrough sites) on ln.
func (s *Server) startHTTPS(ln net.Listener) error {
	s.addr = ln.Addr()
	s.httpsSrv = s.newHTTPServer(http.HandlerFunc(s.serveTLS), "https")
	s.httpsSrv.ConnContext = connContext // for HTTP/1.1 write batching (h1batch.go)
	if err := coalesceHTTP2Writes(s.httpsSrv, s.limits.HTTP2Server); err != nil {
		return err
	}
	if len(s.opts.ProxyProtocolFrom) == 0 { // a PROXY header is read by net's connections
		ln = newRawListener(ln, s.acceptRaw)
	}
	limited := newLimitListener(ln, s.limits.MaxConns, s.metrics.connections.WithLabelValues("https"))
	s.serveHTTPS(tls.NewListener(earlyListener{s.proxyListener(s.newLoopAccept(limited)), s}, s.tlsConfig))
	return nil
}

// startHTTP serves plain HTTP on ln: ACME challenges and redirects to HTTPS.
func (s *Server) startHTTP(ln net.Listener) {
	s.httpAddr = ln.Addr()
	s.redirectPort = redirectPort(s.opts.HTTPSPort, s.addr)
	s.httpSrv = s.newHTTPServer(http.HandlerFunc(s.serveHTTP), "http")
	s.httpSrv.Protocols = new(http.Protocols)
	s.httpSrv.Protocols.SetHTTP1(true)
	s.serve(s.httpSrv, s.proxyListener(newLimitListener(ln, s.limits.MaxConns, s.metrics.connections.WithLabelValues("http"))))
}

// startTicketRotation rotates the session ticket keys in the background until Shutdown
// (s.mu held).
func (s *Server) startTicketRotation() {
	rotCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.tickets.run(rotCtx, s.opts.TicketKeyRotation)
	}()
}

// startAdmin serves the admin listener ln (s.mu held), over TLS if setup says so.
func (s *Server) startAdmin(ln net.Listener, setup *adminSetup) {
	s.adminAddr = ln.Addr()
	s.adminSrv = &http.Server{
		Handler:           setup.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          serverErrorLog(s.log, nil, "admin"),
		TLSConfig:         setup.tls,
	}
	s.serve(s.adminSrv, ln)
}

// newHTTPServer returns an http.Server with the limits applied.
func (s *Server) newHTTPServer(h http.Handler, listener string) *http.Server {
	srv := &http.Server{Handler: h, ErrorLog: serverErrorLog(s.log, s.metrics.handshakeErrors, listener),
		BaseContext: func(net.Listener) context.Context { return s.base }}
	s.limits.apply(srv)
	return srv
}

// serve runs srv.Serve(ln), or srv.ServeTLS(ln) if srv has a TLSConfig, in the background.
func (s *Server) serve(srv *http.Server, ln net.Listener) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		serve := srv.Serve
		if srv.TLSConfig != nil {
			serve = func(ln net.Listener) error { return srv.ServeTLS(ln, "", "") }
		}
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("edge: serve", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

// Addr returns the HTTPS listener's bound address, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// HTTPAddr returns the plain-HTTP listener's bound address, or nil if it is off or not
// started.
func (s *Server) HTTPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.httpAddr
}

// AdminAddr returns the admin listener's bound address, or nil if it is off or not
// started.
func (s *Server) AdminAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adminAddr
}

// Shutdown drains the server gracefully: /readyz turns 503, the listeners stop accepting,
// idle connections are closed, HTTP/2 clients get GOAWAY, and requests in flight, upgraded
// connections (WebSocket) included, may finish until ctx is done, after which the remaining
// connections are closed and ctx's error is returned. The reverse proxy is closed last.
// Shutdown before Start, or twice, is harmless.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.draining.Store(true)
	s.altSvc.Store(nil) // stop sending clients to a listener about to close
	servers := []*http.Server{s.httpsSrv, s.httpSrv}
	admin, stop, h3, h1 := s.adminSrv, s.stop, s.h3, s.h1
	s.mu.Unlock()

	var wg sync.WaitGroup
	errs := make([]error, len(servers)+3)
	// Passthrough connections drain alongside the HTTP ones (not after them: the
	// listeners stop accepting now), until they end or ctx is done.
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[len(servers)+2] = s.passthroughs.drain(ctx)
	}()
	if h1 != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[len(servers)+1] = h1.shutdown(ctx)
		}()
	}
	if h3 != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[len(servers)] = h3.shutdown(ctx)
		}()
	}
	for i, srv := range servers {
		if srv == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				srv.Close()
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	if n := s.upgrades.Load(); n > 0 {
		s.log.Info("draining upgraded connections", "open", n)
		if !s.waitUpgrades(ctx) {
			errs = append(errs, fmt.Errorf("edge: %d upgraded connections still open: %w", s.upgrades.Load(), ctx.Err()))
		}
	}
	// Close what is left: the proxy closes an upgraded connection's backend side when the
	// request's context ends, and the client side follows.
	s.cancelBase()
	closing, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	s.waitUpgrades(closing)
	cancel()
	if admin != nil {
		if err := admin.Shutdown(ctx); err != nil {
			admin.Close()
		}
	}
	if stop != nil {
		stop()
	}
	s.wg.Wait()
	s.proxy.Close()
	closePools(s.Current())
	s.log.Info("edge stopped")
	return errors.Join(errs...)
}

// waitUpgrades waits until no upgraded connection is open, or ctx is done; it reports
// whether none is open.
func (s *Server) waitUpgrades(ctx context.Context) bool {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for s.upgrades.Load() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// redirectPort returns the port for plain-HTTP redirects: port, or else the port of the
// HTTPS listener's address; "" for 443.
func redirectPort(port int, httpsAddr net.Addr) string {
	if port == 0 {
		if a, ok := httpsAddr.(*net.TCPAddr); ok {
			port = a.Port
		}
	}
	if port == 0 || port == 443 {
		return ""
	}
	return strconv.Itoa(port)
}

func addrString(a net.Addr) string {
	if a == nil {
		return Off
	}
	return a.String()
}
