package schema

import (
	"fmt"
	"time"
)

// Built-in defaults below the repo's.
const (
	defaultHSTSMaxAge = 365 * 24 * time.Hour
)

// builtSite is a site assembled for one load with what cross-file checks need.
type builtSite struct {
	site *Site
}

// defaults returns the Config.Defaults for the repo and the effective expiry windows.
func (r *repoResult) defaults(warn, errw time.Duration) Defaults {
	d := Defaults{
		HSTS:                 resolveHSTS(hstsDecl{}, r.decl.hsts),
		Timeouts:             resolveTimeouts(timeoutsDecl{}, r.decl.timeouts),
		CertWarnWithin:       warn,
		CertErrorWithin:      errw,
		AllowWildcardOverlap: r.decl.allowOverlap,
	}
	for _, a := range r.decl.allowed {
		d.AllowedUpstreams = append(d.AllowedUpstreams, a.s)
	}
	return d
}

// resolveHSTS applies site over repo over the built-in policy (on, 365 days).
func resolveHSTS(site, repo hstsDecl) *HSTS {
	for _, d := range []hstsDecl{site, repo} {
		if d.set && d.off {
			return nil
		}
		if d.set {
			break
		}
	}
	h := &HSTS{MaxAge: defaultHSTSMaxAge}
	for _, d := range []hstsDecl{repo, site} { // later wins
		if d.maxAge != nil {
			h.MaxAge = *d.maxAge
		}
		if d.subdoms != nil {
			h.IncludeSubdomains = *d.subdoms
		}
		if d.preload != nil {
			h.Preload = *d.preload
		}
	}
	return h
}

func resolveTimeouts(route, repo timeoutsDecl) Timeouts {
	pick := func(a, b *time.Duration) time.Duration {
		if a != nil {
			return *a
		}
		if b != nil {
			return *b
		}
		return 0
	}
	return Timeouts{
		Connect:  pick(route.connect, repo.connect),
		Response: pick(route.response, repo.response),
		Idle:     pick(route.idle, repo.idle),
	}
}

// builtEntry caches a built site for as long as its file, certificate and repo file are
// unchanged (the results are replaced, so pointer equality means unchanged content).
type builtEntry struct {
	res  *siteResult
	cr   *certResult
	repo *repoResult
	b    *builtSite   // nil when ds has errors
	ds   []Diagnostic // not including expiry, which depends on the time
}

// build returns the Site of one load: cached when nothing it depends on changed, with the
// certificate's expiry judged at now.
func (l *Loader) build(res *siteResult, cr *certResult, repo *repoResult, now time.Time, warn, errw time.Duration) (*builtSite, []Diagnostic) {
	d := res.decl
	l.cmu.Lock()
	e := l.built[d.file]
	l.cmu.Unlock()
	if e == nil || e.res != res || e.cr != cr || e.repo != repo {
		b, ds := buildSite(res, cr, repo)
		e = &builtEntry{res: res, cr: cr, repo: repo, b: b, ds: ds}
		l.cmu.Lock()
		l.built[d.file] = e
		l.cmu.Unlock()
	}
	ds := e.ds
	if len(cr.facts.problems) == 0 {
		if msg, isErr, any := expiry(cr.facts, now, warn, errw); any {
			sev := SeverityWarning
			if isErr && !l.opts.LenientExpiry {
				sev = SeverityError
			}
			p := d.cert.p
			ds = append(append([]Diagnostic(nil), ds...), Diagnostic{File: d.file, Line: p.line, Col: p.col, Severity: sev,
				Message: fmt.Sprintf("%s: %s", d.cert.s, msg)})
		}
	}
	if e.b == nil || hasError(ds) {
		return nil, ds
	}
	return e.b, ds
}

// buildSite assembles a Site and makes the checks that depend on the certificate or the
// repo policy (not on the time).
func buildSite(res *siteResult, cr *certResult, repo *repoResult) (*builtSite, []Diagnostic) {
	d := res.decl
	var ds []Diagnostic
	at := func(p pos, sev Severity, format string, args ...any) {
		ds = append(ds, Diagnostic{File: d.file, Line: p.line, Col: p.col, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	if cr != nil {
		for _, p := range cr.facts.problems {
			at(d.cert.p, SeverityError, "certificate file %s %s", d.cert.s, p)
		}
		if len(cr.facts.problems) == 0 {
			leaf := cr.facts.chain[0]
			for _, h := range uncovered(leaf, d.hosts) {
				at(h.p, SeverityError, "host %q is not covered by certificate %s (it covers %s); add the name to the certificate or remove the host",
					h.s, d.cert.s, sansList(leaf.DNSNames))
			}
		}
	}
	hsts := resolveHSTS(d.headers.hsts, repo.decl.hsts)
	if hsts != nil && hsts.Preload {
		p, where := d.headers.hsts.p, ""
		if !d.headers.hsts.set {
			p, where = d.namePos, " (from defaults.hsts in edge.cue)"
		}
		if !hsts.IncludeSubdomains {
			at(p, SeverityError, "HSTS preload%s requires include_subdomains: true (browsers' preload lists demand it)", where)
		}
		if hsts.MaxAge < 365*24*time.Hour {
			at(p, SeverityError, "HSTS preload%s requires max_age of at least \"365d\"; it is %s", where, formatDuration(hsts.MaxAge))
		}
	}
	allowedUps := repo.decl.allowedParsed
	for _, r := range d.routes {
		for _, u := range r.upstreams {
			host, err := parseUpstream(u.s)
			if err == nil && !allowed(allowedUps, host) {
				at(u.p, SeverityError, "upstream %q is not allowed by the repo policy: %s is not in policy.allowed_upstreams (%s)", u.s, host, sansList(repoAllowed(repo)))
			}
		}
	}
	if hasError(ds) {
		return nil, ds
	}
	s := &Site{
		Name:    d.name,
		File:    d.file,
		Default: d.dflt,
		Key:     d.key,
		Cert:    Cert{File: d.cert.s, PEM: cr.pem, Chain: cr.facts.chain},
		Digest:  hexDigest(res.hash, cr.hash, repo.hash),
		Headers: Headers{
			HSTS:   hsts,
			Set:    d.headers.set,
			Remove: d.headers.remove,
		},
	}
	for _, h := range d.hosts {
		s.Hosts = append(s.Hosts, h.s)
	}
	for _, r := range d.routes {
		rt := Route{
			Path:        r.path.s,
			Balance:     r.balance,
			StripPrefix: r.strip,
			Timeouts:    resolveTimeouts(r.timeouts, repo.decl.timeouts),
			Retries:     r.retries,
		}
		if r.health != nil {
			hc := *r.health
			rt.HealthCheck = &hc
		}
		for _, u := range r.upstreams {
			rt.Upstreams = append(rt.Upstreams, u.s)
		}
		s.Routes = append(s.Routes, rt)
	}
	for _, r := range d.redirs {
		rd := Redirect{To: r.to.s, Path: r.path, Status: r.status, KeepPath: r.keepPath}
		for _, h := range r.hosts {
			rd.Hosts = append(rd.Hosts, h.s)
		}
		s.Redirects = append(s.Redirects, rd)
	}
	return &builtSite{site: s}, ds
}

func repoAllowed(repo *repoResult) []string {
	out := make([]string, len(repo.decl.allowed))
	for i, a := range repo.decl.allowed {
		out[i] = a.s
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
