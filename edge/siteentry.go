package edge

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// newSiteEntry checks the site st on its own and prepares it: certificates, hosts, routes
// (without their handlers: see buildSnapshot), redirects and headers. It returns nil and
// the problems found if the site cannot be served; every error names the site.
func newSiteEntry(st *Site) (*siteEntry, []error) {
	if st.Passthrough != nil {
		return newPassthroughEntry(st)
	}
	var errs []error
	bad := func(kind error, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: site %s: %s", kind, st.Name, fmt.Sprintf(format, args...)))
	}
	checkNameAndHosts(st, bad)
	e := &siteEntry{site: st, hosts: make([]hostEntry, len(st.Hosts)), certs: servingCerts(st)}
	e.notAfter = checkCertificates(st, bad)
	var all []*tls.Certificate // every certificate: one slice for the hosts all of them cover
	for i, h := range st.Hosts {
		e.hosts[i] = hostEntry{site: e, certs: hostCerts(st, e.certs, h, &all)}
		if len(e.hosts[i].certs) == 0 {
			bad(ErrHostNotCovered, "host %s", h)
		}
	}
	if len(st.Routes) == 0 && len(st.Redirects) == 0 {
		bad(ErrNothingToServe, "declare a route or a redirect")
	}
	paths := make(map[string]bool, len(st.Routes))
	for i := range st.Routes {
		r := &st.Routes[i]
		if err := checkRoute(r); err != nil {
			bad(ErrInvalidSite, "route %q: %v", r.Path, err)
			continue
		}
		if paths[r.Path] {
			bad(ErrInvalidSite, "route %q declared twice", r.Path)
			continue
		}
		paths[r.Path] = true
		e.routes = append(e.routes, routeEntry{path: r.Path, route: r})
	}
	sortByPathLength(e.routes, func(r *routeEntry) string { return r.path })
	for i := range st.Redirects {
		rd, err := newRedirectEntry(&st.Redirects[i], st.Hosts)
		if err != nil {
			bad(ErrInvalidSite, "redirect %d (%s): %v", i, st.Redirects[i].To, err)
			continue
		}
		e.redirects = append(e.redirects, rd)
	}
	sortByPathLength(e.redirects, func(r *redirectEntry) string { return r.path })
	var err error
	if e.headers, err = newHeaderOps(st.Headers); err != nil {
		bad(ErrInvalidSite, "%v", err)
	}
	if e.pages, err = newSitePages(st); err != nil {
		bad(ErrInvalidSite, "%v", err)
	}
	e.access = newSiteAccess(st, bad)
	if len(errs) > 0 {
		return nil, errs
	}
	return e, nil
}

// checkNameAndHosts reports a missing name, no hosts, malformed and repeated hosts through
// bad.
func checkNameAndHosts(st *Site, bad func(error, string, ...any)) {
	if st.Name == "" {
		bad(ErrInvalidSite, "empty name")
	}
	if len(st.Hosts) == 0 {
		bad(ErrInvalidSite, "no hosts")
	}
	seen := make(map[string]bool, len(st.Hosts))
	for _, h := range st.Hosts {
		switch {
		case !validHostPattern(h):
			bad(ErrInvalidSite, "host %q is not a lower-case DNS name, a one-label wildcard or an IP address", h)
		case seen[h]:
			bad(ErrDuplicateHost, "host %s listed twice", h)
		}
		seen[h] = true
	}
}

// checkCertificates reports unusable certificates through bad and returns the earliest
// expiry.
func checkCertificates(st *Site, bad func(error, string, ...any)) time.Time {
	if len(st.Certificates) == 0 {
		bad(ErrNoCertificate, "no certificates")
	}
	var notAfter time.Time
	keyTypes := make(map[x509.PublicKeyAlgorithm]bool, len(st.Certificates))
	for i := range st.Certificates {
		c, leaf := &st.Certificates[i], st.CertLeaf(i)
		switch {
		case len(c.Certificate) == 0:
			bad(ErrNoCertificate, "certificate %d: empty chain", i)
		case leaf == nil:
			bad(ErrNoCertificate, "certificate %d: Leaf not filled in", i)
		case c.PrivateKey == nil:
			bad(ErrNoCertificate, "certificate %d (%s): no private key", i, leaf.Name())
		case keyTypes[leaf.KeyAlgorithm]:
			bad(ErrNoCertificate, "certificate %d (%s): a second %s certificate", i, leaf.Name(), leaf.KeyAlgorithm)
		default:
			keyTypes[leaf.KeyAlgorithm] = true
			if notAfter.IsZero() || leaf.NotAfter.Before(notAfter) {
				notAfter = leaf.NotAfter
			}
		}
	}
	return notAfter
}

// certCoversHost reports whether the leaf l covers the site host pattern h (see
// certCovers; IP hosts need an IP SAN). A nil leaf covers nothing.
func certCoversHost(l *site.CertLeaf, h string) bool {
	if l == nil {
		return false
	}
	if ip := net.ParseIP(h); ip != nil {
		for _, a := range l.IPAddresses {
			if a.Equal(ip) {
				return true
			}
		}
		return false
	}
	for _, n := range l.DNSNames {
		if certCovers(n, h) {
			return true
		}
	}
	return false
}

// checkRoute checks what the data plane relies on; the proxy checks the rest.
func checkRoute(r *site.Route) error {
	if !strings.HasPrefix(r.Path, "/") {
		return fmt.Errorf("path does not begin with \"/\"")
	}
	if r.Static != nil {
		return checkStaticRoute(r)
	}
	if len(r.Upstreams) == 0 {
		return fmt.Errorf("no upstreams")
	}
	for i, u := range r.Upstreams {
		if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("upstream %d: want an http or https URL with a host", i)
		}
	}
	if !r.Balance.Valid() {
		return fmt.Errorf("balance %q; want round_robin or least_conn", r.Balance)
	}
	if r.Timeouts.Negative() || r.Retries < 0 {
		return fmt.Errorf("negative timeout or retries")
	}
	return nil
}

// newRedirectEntry checks a redirect and prepares it.
func newRedirectEntry(declared *site.Redirect, siteHosts []string) (redirectEntry, error) {
	rd := declared.WithDefaults()
	e := redirectEntry{path: rd.Path, hosts: rd.Hosts, to: rd.To, status: rd.Status, keepPath: rd.KeepPath}
	if !strings.HasPrefix(e.path, "/") {
		return e, fmt.Errorf("path %q does not begin with \"/\"", rd.Path)
	}
	u, err := url.Parse(rd.To)
	if err != nil {
		return e, fmt.Errorf("target: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return e, fmt.Errorf("target %q is not an absolute http or https URL", rd.To)
	}
	if e.keepPath {
		e.to = strings.TrimSuffix(rd.To, "/")
		if u.RawQuery != "" || u.Fragment != "" {
			return e, fmt.Errorf("target %q has a query or fragment; the request's path and query are appended", rd.To)
		}
	}
	switch rd.Status {
	case 301, 302, 307, 308:
	default:
		return e, fmt.Errorf("status %d; want 301, 302, 307 or 308", rd.Status)
	}
	for _, h := range rd.Hosts {
		found := false
		for _, sh := range siteHosts {
			if h == sh || (isWildcard(sh) && !isWildcard(h) && coveredByWildcard(sh, h)) {
				found = true
				break
			}
		}
		if !found {
			return e, fmt.Errorf("host %s is not one of the site's hosts", h)
		}
	}
	return e, nil
}
