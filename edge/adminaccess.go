package edge

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// AdminAccess is access control on the admin listener. The zero value is none, which the
// server accepts only on a loopback address (the default 127.0.0.1:9443).
//
// With a TokenFile, a ClientCA or both, every request needs the credentials, except the
// probes /healthz and /readyz and the OpenPaths: the check wraps the whole admin mux, so an
// endpoint mounted later is protected too. When both are set both are required.
type AdminAccess struct {
	// TokenFile holds the bearer token requests must send as "Authorization: Bearer
	// <token>" (or, for browsers, as the password of Basic authentication, any user name):
	// one line of visible ASCII (one trailing newline is ignored). It is read at
	// Start (a missing, empty or malformed file is an error) and again whenever the file
	// changes (size, modification time or inode, checked at each request), so a token
	// rotates without a restart; while the file is missing or malformed every request is
	// refused. Missing or wrong: 401 with `WWW-Authenticate: Bearer realm="edge admin"`
	// (and a Basic challenge, so that browsers prompt).
	TokenFile string
	// TLSCert and TLSKey are PEM files: the admin listener serves HTTPS with them (HTTP/2
	// and HTTP/1.1, TLS 1.2 and up). Both or neither. They are read at Start and again when
	// either file changes, at the next handshake; a pair that does not load keeps the
	// previous one serving (logged).
	TLSCert, TLSKey string
	// ClientCA is a PEM bundle of CAs: requests need a client certificate issued by one of
	// them (with the clientAuth extended key usage, if it lists any). Needs TLSCert. A
	// certificate that does not verify fails the handshake; no certificate gets 403 (the
	// handshake itself accepts none, so that probes without a certificate reach /healthz
	// and /readyz). Read at Start.
	ClientCA string
	// OpenPaths are more exact paths served without these credentials, for endpoints that
	// authenticate their callers themselves (the agent's /webhook/git checks the git
	// host's HMAC signature).
	OpenPaths []string
	// Insecure lets the admin listener bind a non-loopback address without TokenFile or
	// ClientCA, which Start otherwise refuses: anyone who reaches it reads /metrics,
	// /status and what else is mounted. For a network that is private by other means.
	Insecure bool
}

// adminOpenPaths are served to anyone: what load balancers and kubelets probe.
var adminOpenPaths = []string{"/healthz", "/readyz"}

// ErrAdminExposed is returned by Start for a non-loopback admin address without
// credentials (AdminAccess.TokenFile or ClientCA) or AdminAccess.Insecure.
var ErrAdminExposed = errors.New("edge: the admin listener is not on loopback and has no access control")

// credentials reports whether requests need any.
func (a *AdminAccess) credentials() bool { return a.TokenFile != "" || a.ClientCA != "" }

// adminSetup is AdminAccess made ready at Start: the files read, the handler wrapped.
type adminSetup struct {
	handler http.Handler
	tls     *tls.Config // nil: plain HTTP
}

// prepareAdmin checks s.opts.AdminAccess and reads its files; next is the admin mux.
func (s *Server) prepareAdmin(next http.Handler) (*adminSetup, error) {
	a := &s.opts.AdminAccess
	if (a.TLSCert == "") != (a.TLSKey == "") {
		return nil, errors.New("edge: admin TLS needs both a certificate and a key file")
	}
	if a.ClientCA != "" && a.TLSCert == "" {
		return nil, errors.New("edge: an admin client CA needs the admin listener on TLS (a certificate and key)")
	}
	setup := &adminSetup{handler: next}
	var err error
	if a.TLSCert != "" {
		if setup.tls, err = adminTLSConfig(a, s.log); err != nil {
			return nil, err
		}
	}
	if !a.credentials() {
		return setup, nil
	}
	g := &adminGuard{next: next, open: map[string]bool{}, certs: a.ClientCA != "", log: s.log,
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_admin_requests_denied_total",
			Help: "Requests to the admin listener refused for want of credentials, by reason: missing_token, wrong_token, no_client_certificate.",
		}, []string{"reason"})}
	for _, p := range append(adminOpenPaths, a.OpenPaths...) {
		g.open[p] = true
	}
	if a.TokenFile != "" {
		if g.token, err = newTokenFile(a.TokenFile, s.log); err != nil {
			return nil, fmt.Errorf("edge: %w", err)
		}
		g.denied.WithLabelValues(denyMissingToken)
		g.denied.WithLabelValues(denyWrongToken)
	}
	if g.certs {
		g.denied.WithLabelValues(denyNoCert)
	}
	if err := s.registry.Register(g.denied); err != nil {
		var already prometheus.AlreadyRegisteredError // a Start retried after a failure
		if !errors.As(err, &already) {
			return nil, fmt.Errorf("edge: admin metrics: %w", err)
		}
		g.denied = already.ExistingCollector.(*prometheus.CounterVec)
	}
	setup.handler = g
	return setup, nil
}

// checkExposure refuses a bound admin address that is not loopback when no credentials
// are required, unless Insecure; with Insecure it warns.
func (s *Server) checkExposure(addr net.Addr) error {
	a := &s.opts.AdminAccess
	if a.credentials() || isLoopback(addr) {
		return nil
	}
	if !a.Insecure {
		return fmt.Errorf("%w: %s (bound %s) would serve /metrics, /status and the rest to anyone who reaches it",
			ErrAdminExposed, s.opts.AdminListen, addr)
	}
	s.log.Warn("INSECURE: the admin listener is not on loopback and requires no credentials: "+
		"anyone who reaches it reads /metrics and /status", "admin", addr.String())
	return nil
}

// isLoopback reports whether a bound address accepts loopback connections only.
func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// Reasons a request is denied, the label of edge_admin_requests_denied_total.
const (
	denyMissingToken = "missing_token"
	denyWrongToken   = "wrong_token"
	denyNoCert       = "no_client_certificate"
)

// adminGuard requires the admin credentials of every request but those to open paths.
type adminGuard struct {
	next   http.Handler
	open   map[string]bool // exact paths served without credentials
	token  *tokenFile      // nil: no token needed
	certs  bool            // a verified client certificate needed
	log    *slog.Logger
	denied *prometheus.CounterVec
}

// ServeHTTP implements http.Handler.
func (g *adminGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.open[r.URL.Path] {
		g.next.ServeHTTP(w, r)
		return
	}
	if g.certs && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
		g.deny(w, r, denyNoCert)
		return
	}
	if g.token != nil {
		tok, ok := presentedToken(r)
		switch {
		case !ok:
			g.deny(w, r, denyMissingToken)
			return
		case !g.token.check(tok):
			g.deny(w, r, denyWrongToken)
			return
		}
		// Handlers behind never see the token, so none can log or echo it.
		r.Header.Del("Authorization")
	}
	g.next.ServeHTTP(w, r)
}

// deny answers 403 (no client certificate) or 401 with a Bearer challenge, saying nothing
// of what was wrong beyond that; the reason is counted and logged at debug level.
func (g *adminGuard) deny(w http.ResponseWriter, r *http.Request, reason string) {
	g.denied.WithLabelValues(reason).Inc()
	g.log.Debug("admin request denied", "reason", reason, "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
	w.Header().Set("Cache-Control", "no-store")
	if reason == denyNoCert {
		http.Error(w, "forbidden: client certificate required", http.StatusForbidden)
		return
	}
	// Bearer for programs; Basic so that a browser asks for it (any user name, the token
	// as password) and the page on /ui/ can be opened.
	w.Header()["Www-Authenticate"] = []string{`Bearer realm="edge admin"`, `Basic realm="edge admin", charset="UTF-8"`}
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// presentedToken returns the token of a request: the credential of "Authorization: Bearer
// <token>" (the scheme is case-insensitive), or the password of Basic authentication.
func presentedToken(r *http.Request) (string, bool) {
	if _, pw, ok := r.BasicAuth(); ok {
		return pw, pw != ""
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	return tok, tok != ""
}
