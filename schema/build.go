package schema

import (
	"fmt"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// builtSite is a site assembled for one load with what cross-file checks need.
type builtSite struct {
	site *Site
}

// defaults returns the Config.Defaults for the repo and the effective expiry windows.
func (r *repoResult) defaults(warn, errw time.Duration) Defaults {
	d := Defaults{
		HSTS:                 resolveHSTS(hstsDecl{}, r.decl.HSTS),
		Timeouts:             resolveTimeouts(timeoutsDecl{}, r.decl.Timeouts),
		CertWarnWithin:       warn,
		CertErrorWithin:      errw,
		AllowWildcardOverlap: r.decl.AllowOverlap,
	}
	for _, a := range r.decl.Allowed {
		d.AllowedUpstreams = append(d.AllowedUpstreams, a.S)
	}
	return d
}

// resolveHSTS applies site over repo over the built-in policy (on, 365 days).
func resolveHSTS(siteHSTS, repo hstsDecl) *site.HSTS {
	for _, d := range []hstsDecl{siteHSTS, repo} {
		if d.Set && d.Off {
			return nil
		}
		if d.Set {
			break
		}
	}
	h := &site.HSTS{MaxAge: site.DefaultHSTSMaxAge}
	for _, d := range []hstsDecl{repo, siteHSTS} { // later wins
		if d.MaxAge != nil {
			h.MaxAge = *d.MaxAge
		}
		if d.Subdoms != nil {
			h.IncludeSubdomains = *d.Subdoms
		}
		if d.Preload != nil {
			h.Preload = *d.Preload
		}
	}
	return h
}

// resolveTimeouts applies route over repo; what neither sets stays zero (the data plane's
// default, see site.Timeouts).
func resolveTimeouts(route, repo timeoutsDecl) site.Timeouts {
	pick := func(a, b *time.Duration) time.Duration {
		if a != nil {
			return *a
		}
		if b != nil {
			return *b
		}
		return 0
	}
	return site.Timeouts{
		Connect:  pick(route.Connect, repo.Connect),
		Response: pick(route.Response, repo.Response),
		Idle:     pick(route.Idle, repo.Idle),
		Body:     pick(route.Body, repo.Body),
	}
}

// builtEntry caches a built site for as long as its file, certificate and repo file are
// unchanged (the results are replaced, so pointer equality means unchanged content).
type builtEntry struct {
	res  *siteResult
	cr   *certResult
	pg   *pagesResult
	repo *repoResult
	ca   *certResult  // client_auth's CA bundle
	stat [32]byte     // digest of the static routes' repo directories
	b    *builtSite   // nil when ds has errors
	ds   []Diagnostic // not including expiry, which depends on the time
}

// build returns the Site of one load: cached when nothing it depends on changed, with the
// certificate's expiry judged at now.
func (l *Loader) build(res *siteResult, cr, ca *certResult, pg *pagesResult, repo *repoResult, st staticSet, now time.Time, warn, errw time.Duration) (*builtSite, []Diagnostic) {
	d := res.decl
	l.cmu.Lock()
	e := l.built[d.File]
	l.cmu.Unlock()
	if e == nil || e.res != res || e.cr != cr || e.pg != pg || e.repo != repo || e.ca != ca || e.stat != st.sum {
		b, ds := buildSite(res, cr, pg, repo, st, l.urls)
		b, ds = withClientAuth(b, ds, res, cr, repo, ca)
		e = &builtEntry{res: res, cr: cr, ca: ca, pg: pg, repo: repo, stat: st.sum, b: b, ds: ds}
		l.cmu.Lock()
		l.built[d.File] = e
		l.cmu.Unlock()
	}
	ds := e.ds
	if cr != nil && len(cr.facts.problems) == 0 {
		if msg, isErr, any := expiry(cr.facts, now, warn, errw); any {
			sev := SeverityWarning
			if isErr && !l.opts.LenientExpiry {
				sev = SeverityError
			}
			p := d.Cert.P
			ds = append(append([]Diagnostic(nil), ds...), Diagnostic{File: d.File, Line: p.Line, Col: p.Col, Severity: sev,
				Message: fmt.Sprintf("%s: %s", d.Cert.S, msg)})
		}
	}
	if e.b == nil || hasError(ds) {
		return nil, ds
	}
	return e.b, ds
}

// buildSite assembles a Site and makes the checks that depend on the certificate or the
// repo policy (not on the time).
func buildSite(res *siteResult, cr *certResult, pg *pagesResult, repo *repoResult, st staticSet, urls urlCache) (*builtSite, []Diagnostic) {
	var hsts *site.HSTS // a passthrough site sends no headers
	if res.decl.Pass == nil {
		hsts = resolveHSTS(res.decl.Headers.HSTS, repo.decl.HSTS)
	}
	ds := checkBuild(res.decl, cr, repo, hsts)
	if hasError(ds) {
		return nil, ds
	}
	s, err := assembleSite(res, cr, pg, repo, hsts, st, urls)
	if err != nil {
		return nil, append(ds, *err)
	}
	return &builtSite{site: s}, ds
}

// checkBuild makes the checks of site d that depend on its certificate (cr, nil if it
// could not be read) or on the repo's policy: host coverage, HSTS preload, upstreams.
func checkBuild(d *siteDecl, cr *certResult, repo *repoResult, hsts *site.HSTS) []Diagnostic {
	var ds []Diagnostic
	at := func(p pos, sev Severity, format string, args ...any) {
		ds = append(ds, Diagnostic{File: d.File, Line: p.Line, Col: p.Col, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	if cr != nil {
		for _, p := range cr.facts.problems {
			at(d.Cert.P, SeverityError, "certificate file %s %s", d.Cert.S, p)
		}
		if len(cr.facts.problems) == 0 {
			leaf := cr.facts.leaf
			for _, h := range uncovered(leaf, d.Hosts) {
				at(h.P, SeverityError, "host %q is not covered by certificate %s (it covers %s); add the name to the certificate or remove the host",
					h.S, d.Cert.S, sansList(leaf.DNSNames))
			}
		}
	}
	if hsts != nil && hsts.Preload {
		p, where := d.Headers.HSTS.P, ""
		if !d.Headers.HSTS.Set {
			p, where = d.NamePos, " (from defaults.hsts in edge.cue)"
		}
		if !hsts.IncludeSubdomains {
			at(p, SeverityError, "HSTS preload%s requires include_subdomains: true (browsers' preload lists demand it)", where)
		}
		if hsts.MaxAge < 365*24*time.Hour {
			at(p, SeverityError, "HSTS preload%s requires max_age of at least \"365d\"; it is %s", where, formatDuration(hsts.MaxAge))
		}
	}
	checkIssuer(d, repo, at)
	allowedUps := repo.decl.AllowedParsed
	notAllowed := func(u strPos, host string) {
		at(u.P, SeverityError, "upstream %q is not allowed by the repo policy: %s is not in policy.allowed_upstreams (%s)", u.S, host, sansList(repoAllowed(repo)))
	}
	for _, r := range d.Routes {
		for _, u := range r.Upstreams {
			host, err := parseUpstream(u.S)
			if err == nil && !allowed(allowedUps, host) {
				notAllowed(u, host)
			}
		}
	}
	ds = append(ds, checkAuthPolicy(d, repo)...)
	if d.Pass != nil {
		for _, u := range d.Pass.Upstreams {
			host, err := parseTCPUpstream(u.S)
			if err == nil && !allowed(allowedUps, host) {
				notAllowed(u, host)
			}
		}
	}
	return ds
}

// assembleSite makes the Site of a checked declaration, with the repo's defaults applied
// and the upstream URLs parsed (the one parse the data plane relies on). The Diagnostic,
// if any, is an upstream the extraction let through that does not parse.
func assembleSite(res *siteResult, cr *certResult, pg *pagesResult, repo *repoResult, hsts *site.HSTS, st staticSet, urls urlCache) (*Site, *Diagnostic) {
	d := res.decl
	if d.Pass != nil {
		return assemblePassthrough(res, repo), nil
	}
	s := &Site{
		Site: site.Site{
			Name:    d.Name,
			Default: d.Dflt,
			Headers: site.Headers{HSTS: hsts, Set: d.Headers.Set, Remove: d.Headers.Remove},
		},
		File:   d.File,
		Key:    d.Key,
		Issuer: d.Issuer.S,
	}
	var certHash [32]byte
	if cr != nil { // nil for an issued certificate
		s.Cert = Cert{File: d.Cert.S, PEM: cr.pem, DER: cr.facts.der, Leaf: cr.facts.leaf}
		certHash = cr.hash
	}
	parts := [][32]byte{res.hash, certHash, repo.hash}
	if st.dirs != nil { // content-only commits of a repo_dir change the digest
		parts = append(parts, st.sum)
	}
	s.Digest = hexDigest(append(parts, pagesHash(pg)...)...)
	applyPages(&s.Site, &d.Pages, pg)
	for _, h := range d.Hosts {
		s.Hosts = append(s.Hosts, h.S)
	}
	d.Access.apply(&s.Access, &s.RateLimit)
	s.ForbiddenPaths = d.Access.forbiddenList()
	for _, r := range d.Routes {
		rt, err := assembleRoute(d.File, r, repo, st, urls)
		if err != nil {
			return nil, err
		}
		s.Routes = append(s.Routes, rt)
	}
	for _, r := range d.Redirs {
		rd := site.Redirect{To: r.To.S, Path: r.Path, Status: r.Status, KeepPath: r.KeepPath}
		for _, h := range r.Hosts {
			rd.Hosts = append(rd.Hosts, h.S)
		}
		s.Redirects = append(s.Redirects, rd)
	}
	return s, nil
}

// assembleRoute makes the route r of the site declared in file, with the repo's default
// timeouts applied and its upstream URLs parsed (shared through urls).
func assembleRoute(file string, r routeDecl, repo *repoResult, st staticSet, urls urlCache) (site.Route, *Diagnostic) {
	rt := site.Route{
		Path:        r.Path.S,
		Balance:     site.Balance(r.Balance),
		StripPrefix: r.Strip,
		Timeouts:    resolveTimeouts(r.Timeouts, repo.decl.Timeouts),
		Retries:     r.Retries,
		BasicAuth:   r.BasicAuth,
		ForwardAuth: r.ForwardAuth,
	}
	rt.Compress, rt.CacheControl, rt.CORS = r.Enc.Compress.resolve(repo.decl.Compress), r.Enc.Cache, r.Enc.CORS
	if r.Health != nil {
		hc := *r.Health
		rt.HealthCheck = &hc
	}
	r.Access.apply(&rt.Access, &rt.RateLimit)
	assembleUpstreamOptions(&rt, r)
	if r.Static != nil {
		rt.Static = assembleStatic(r.Static, st)
	}
	for _, u := range r.Upstreams {
		parsed, err := urls.parse(u.S)
		if err != nil { // parseUpstream accepted it during extraction: not expected
			return rt, &Diagnostic{File: file, Line: u.P.Line, Col: u.P.Col, Severity: SeverityError,
				Message: fmt.Sprintf("upstream %q is not a URL (%s)", u.S, cleanURLErr(err))}
		}
		rt.Upstreams = append(rt.Upstreams, parsed)
	}
	return rt, nil
}

// assemblePassthrough makes the Site of a checked passthrough declaration: no certificate,
// no key, no routes; its digest covers the declaration and edge.cue.
func assemblePassthrough(res *siteResult, repo *repoResult) *Site {
	d, p := res.decl, res.decl.Pass
	pt := &site.Passthrough{
		Balance:       site.Balance(p.Balance),
		ProxyProtocol: p.ProxyProtocol,
	}
	if p.Timeouts.Connect != nil {
		pt.ConnectTimeout = *p.Timeouts.Connect
	}
	if p.Timeouts.Idle != nil {
		pt.IdleTimeout = *p.Timeouts.Idle
	}
	if p.Health != nil {
		hc := *p.Health
		pt.HealthCheck = &hc
	}
	for _, u := range p.Upstreams {
		pt.Upstreams = append(pt.Upstreams, u.S)
	}
	s := &Site{
		Site:   site.Site{Name: d.Name, Default: d.Dflt, Passthrough: pt},
		File:   d.File,
		Digest: hexDigest(res.hash, [32]byte{}, repo.hash),
	}
	for _, h := range d.Hosts {
		s.Hosts = append(s.Hosts, h.S)
	}
	return s
}

func repoAllowed(repo *repoResult) []string {
	out := make([]string, len(repo.decl.Allowed))
	for i, a := range repo.decl.Allowed {
		out[i] = a.S
	}
	return out
}

func sansList(names []string) string {
	if len(names) == 0 {
		return "no names"
	}
	const maxShown = 5
	s := ""
	for i, n := range names {
		if i == maxShown {
			return s + fmt.Sprintf(", and %d more", len(names)-maxShown)
		}
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
