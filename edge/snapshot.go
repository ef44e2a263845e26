package edge

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge/passthrough"
	"github.com/edgectl/edge/edge/site"
)

// Snapshot is an immutable, consistency-checked set of sites ready to be served: the SNI
// certificate index, the host and path route tables and the handlers of the routes.
// Server.Publish builds one from sites (wiring the server's reverse proxy) and swaps it
// in; Server.Current returns the one being served.
//
// Every method is safe for concurrent use and on a nil *Snapshot, which holds no sites.
type Snapshot struct {
	generation uint64
	commit     string
	created    time.Time
	sites      []*siteEntry
	byName     map[string]*siteEntry
	exact      map[string]*hostEntry // host -> site and certificates
	wild       map[string]*hostEntry // "example.com" for the pattern "*.example.com"
	def        *hostEntry            // the default site with all its certificates, or nil
	// passthrough is set when a site is a passthrough site (earlyListener routes early).
	passthrough bool
	ordered     bool // sites are in strictly increasing name order (see patchSnapshot)
}

// siteEntry is a site prepared for serving. It depends only on its site (and the route
// handlers it was given), so a later snapshot holding the same *Site reuses it.
type siteEntry struct {
	site      *Site
	hosts     []hostEntry       // per site.Hosts[i]: the site and the certificates covering it
	certs     []tls.Certificate // site.Certificates as served (servingCerts)
	routes    []routeEntry      // longest path first
	redirects []redirectEntry
	headers   headerOps
	notAfter  time.Time                // earliest expiry of its certificates
	pool      *passthrough.Pool        // a passthrough site's upstreams; nil for terminated sites
	ptSeries  atomic.Pointer[ptSeries] // a passthrough site's metric series, once looked up
	pages     *sitePages               // error pages, maintenance, rewrites; nil: none
	access    *siteAccess              // IP rule, rate limit, forbidden paths; nil: none
}

// hostEntry is what one host name (or wildcard pattern) selects: its site and the site's
// certificates covering it, in the site's order.
type hostEntry struct {
	site  *siteEntry
	certs []*tls.Certificate
}

// routeHandlerFunc returns the handler serving route, one of s.Routes. It is called once
// per route while a snapshot is built; an error makes the snapshot invalid.
type routeHandlerFunc func(s *Site, route *site.Route) (http.Handler, error)

// newSnapshot checks sites for consistency and builds a Snapshot of them, tagged with the
// generation and the config-repo commit it came from. handlers supplies the handler of
// every route; nil means each route answers 502 Bad Gateway, which is enough to validate
// sites or test routing without a proxy.
//
// The sites must not change afterwards. The error, if any, joins one error per problem,
// each naming the site and wrapping one of the ErrXxx kinds (ErrDuplicateHost,
// ErrHostNotCovered, ...).
func newSnapshot(generation uint64, commit string, sites []*Site, handlers routeHandlerFunc) (*Snapshot, error) {
	return buildSnapshot(generation, commit, sites, handlers, nil)
}

// buildSnapshot is newSnapshot reusing the entries of prev (which may be nil) for the sites
// it holds unchanged (the same *Site), so a change to one site among thousands costs
// indexing them, not preparing them all again.
func buildSnapshot(generation uint64, commit string, sites []*Site, handlers routeHandlerFunc, prev *Snapshot) (*Snapshot, error) {
	if handlers == nil {
		handlers = func(*Site, *site.Route) (http.Handler, error) { return noProxyHandler, nil }
	}
	if s, err, ok := patchSnapshot(generation, commit, sites, handlers, prev); ok {
		return s, err
	}
	s := &Snapshot{
		generation: generation,
		commit:     commit,
		created:    time.Now(),
		sites:      make([]*siteEntry, 0, len(sites)),
		byName:     make(map[string]*siteEntry, len(sites)),
		exact:      make(map[string]*hostEntry, len(sites)),
		wild:       make(map[string]*hostEntry),
	}
	var errs []error
	owner := make(map[string]string, len(sites)) // host pattern -> site name, for messages
	var fresh []*siteEntry                       // entries prepared here, still without handlers
	for i, st := range sites {
		if st == nil {
			errs = append(errs, fmt.Errorf("%w: site %d is nil", ErrInvalidSite, i))
			continue
		}
		if _, dup := s.byName[st.Name]; dup {
			errs = append(errs, fmt.Errorf("%w: site %s is declared twice", ErrDuplicateSite, st.Name))
			continue
		}
		e := prev.reusable(st)
		if e == nil {
			var siteErrs []error
			if e, siteErrs = newSiteEntry(st); e == nil {
				errs = append(errs, siteErrs...)
				continue
			}
			fresh = append(fresh, e)
		}
		if st.Default {
			if s.def != nil {
				errs = append(errs, fmt.Errorf("%w: sites %s and %s", ErrMultipleDefaults, s.def.site.site.Name, st.Name))
			} else {
				s.def = &hostEntry{site: e, certs: certPointers(e.certs)}
			}
		}
		s.byName[st.Name] = e
		s.sites = append(s.sites, e)
		s.passthrough = s.passthrough || e.pool != nil
		for i, h := range st.Hosts {
			if other, dup := owner[h]; dup {
				errs = append(errs, fmt.Errorf("%w: host %s is claimed by sites %s and %s", ErrDuplicateHost, h, other, st.Name))
				continue
			}
			owner[h] = st.Name
			he := &e.hosts[i] // prepared with the entry: nothing allocated for reused sites
			if isWildcard(h) {
				s.wild[h[2:]] = he
			} else {
				s.exact[h] = he
			}
		}
	}
	// Handlers last, once the snapshot is known to be consistent: the proxy's handlers start
	// health checks, which a refused snapshot must not leave running.
	if len(errs) == 0 {
		errs = attachHandlers(fresh, handlers)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s.ordered = inNameOrder(sites)
	return s, nil
}

// attachHandlers gives the routes of the fresh entries their handlers, stopping after the
// first entry with an error.
func attachHandlers(fresh []*siteEntry, handlers routeHandlerFunc) []error {
	var errs []error
	for _, e := range fresh {
		if len(errs) > 0 {
			break
		}
		for i := range e.routes {
			r := &e.routes[i]
			h, err := handlers(e.site, r.route)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: site %s: route %q: %v", ErrInvalidSite, e.site.Name, r.path, err))
				continue
			}
			r.handler = h
			attachSite(h, e)
		}
	}
	return errs
}

// reusable returns s's entry for st when it was built from this very *Site, else nil.
func (s *Snapshot) reusable(st *Site) *siteEntry {
	if s == nil {
		return nil
	}
	if e := s.byName[st.Name]; e != nil && e.site == st {
		return e
	}
	return nil
}

// Generation returns the generation the snapshot was built with; 0 for nil.
func (s *Snapshot) Generation() uint64 {
	if s == nil {
		return 0
	}
	return s.generation
}

// Commit returns the config-repo commit the snapshot was built from; "" for nil.
func (s *Snapshot) Commit() string {
	if s == nil {
		return ""
	}
	return s.commit
}

// createdAt returns when the snapshot was built; the zero time for nil.
func (s *Snapshot) createdAt() time.Time {
	if s == nil {
		return time.Time{}
	}
	return s.created
}

// numSites returns the number of sites; 0 for nil.
func (s *Snapshot) numSites() int {
	if s == nil {
		return 0
	}
	return len(s.sites)
}

// allSites returns the sites in the order given to newSnapshot. The slice is a copy; the
// sites are shared and must not be changed.
func (s *Snapshot) allSites() []*Site {
	if s == nil {
		return nil
	}
	out := make([]*Site, len(s.sites))
	for i, e := range s.sites {
		out[i] = e.site
	}
	return out
}

// siteNamed returns the site named name, or nil.
func (s *Snapshot) siteNamed(name string) *Site {
	if s == nil {
		return nil
	}
	if e := s.byName[name]; e != nil {
		return e.site
	}
	return nil
}

// siteFor returns the site serving host (case-insensitive, trailing dot and port
// ignored): an exact host first, then a wildcard covering one label. It does not fall back
// to the default site. Nil if none.
func (s *Snapshot) siteFor(host string) *Site {
	if e := s.lookup(hostOnly(host)); e != nil {
		return e.site.site
	}
	return nil
}

// defaultSite returns the default site, or nil.
func (s *Snapshot) defaultSite() *Site {
	if s == nil || s.def == nil {
		return nil
	}
	return s.def.site.site
}

// notAfter returns the earliest expiry of the certificates of the site named name, or the
// zero time if there is no such site.
func (s *Snapshot) notAfter(name string) time.Time {
	if s == nil {
		return time.Time{}
	}
	if e := s.byName[name]; e != nil {
		return e.notAfter
	}
	return time.Time{}
}

// lookup returns the entry of a normalized name: exact first, then the wildcard one label
// up. Two map lookups at most, whatever the number of sites.
func (s *Snapshot) lookup(name string) *hostEntry {
	if s == nil || name == "" {
		return nil
	}
	if e := s.exact[name]; e != nil {
		return e
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			if i == 0 || !validLabel(name[:i]) {
				return nil
			}
			return s.wild[name[i+1:]]
		}
	}
	return nil
}

// sniEntry returns the entry answering a TLS ServerName (raw, from the ClientHello): the
// name's own site, or the default site for an unknown or absent name, or nil.
func (s *Snapshot) sniEntry(serverName string) *hostEntry {
	if s == nil {
		return nil
	}
	if e := s.lookup(normalizeName(serverName)); e != nil {
		return e
	}
	return s.def
}

// getCertificate is the snapshot tls.Config's GetCertificate.
func (s *Snapshot) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	e := s.sniEntry(hello.ServerName)
	if e == nil || e.site.pool != nil {
		return nil, errUnknownServerName
	}
	return e.certificate(hello), nil
}

// certificate returns the first of the entry's certificates the client supports (so an
// ECDSA-capable client gets ECDSA, an RSA-only one RSA), or the first if it supports none
// (the handshake then fails on the client's terms, as crypto/tls itself does).
func (e *hostEntry) certificate(hello *tls.ClientHelloInfo) *tls.Certificate {
	if len(e.certs) == 1 {
		return e.certs[0]
	}
	for _, c := range e.certs {
		if hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	return e.certs[0]
}

// coveringCerts returns the certificates of certs (st's serving certificates) whose leaf
// covers the host pattern h.
func coveringCerts(st *Site, certs []tls.Certificate, h string) []*tls.Certificate {
	var out []*tls.Certificate
	for i := range certs {
		if certCoversHost(st.CertLeaf(i), h) {
			out = append(out, &certs[i])
		}
	}
	return out
}

// hostCerts is coveringCerts, but when every certificate covers h it returns *all, made by
// the first such host: a site's hosts (often a name and its wildcard) then share one slice,
// not one each (at 10,000 sites, 10,000 fewer objects the collector marks).
func hostCerts(st *Site, certs []tls.Certificate, h string, all *[]*tls.Certificate) []*tls.Certificate {
	for i := range certs {
		if !certCoversHost(st.CertLeaf(i), h) {
			return coveringCerts(st, certs, h)
		}
	}
	if *all == nil && len(certs) > 0 {
		*all = certPointers(certs)
	}
	return *all
}

func certPointers(certs []tls.Certificate) []*tls.Certificate {
	out := make([]*tls.Certificate, len(certs))
	for i := range certs {
		out[i] = &certs[i]
	}
	return out
}

// noProxyHandler serves routes of snapshots built without route handlers.
var noProxyHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
})
