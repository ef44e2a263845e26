package schema

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"
)

// extractor reads an evaluated file into Go values, checking what CUE cannot, and records
// diagnostics at the user's text.
type extractor struct {
	file string
	idx  astIndex
	ds   []Diagnostic
}

// pos is where the file writes the value at `at` (the field's label, or the list element),
// else its closest written ancestor; zero when none is written.
func (x *extractor) pos(at fieldPath) pos {
	for p := at; len(p.segs) > 0; p = p.parent() {
		if e, ok := x.idx[p.key()]; ok {
			return toPos(e.label)
		}
	}
	return pos{}
}

// errorf records an error at the value at `at`.
func (x *extractor) errorf(at fieldPath, format string, args ...any) {
	x.report(at, SeverityError, fmt.Sprintf(format, args...))
}

// warnf records a warning at the value at `at`.
func (x *extractor) warnf(at fieldPath, format string, args ...any) {
	x.report(at, SeverityWarning, fmt.Sprintf(format, args...))
}

func (x *extractor) report(at fieldPath, sev Severity, msg string) {
	p := x.pos(at)
	x.ds = append(x.ds, Diagnostic{File: x.file, Line: p.Line, Col: p.Col, Severity: sev, Message: msg})
}

func lookup(v val, field string) val {
	return v.lookup(field)
}

func str(v val, field string) (string, bool) {
	f := lookup(v, field)
	if !f.Exists() {
		return "", false
	}
	s, err := f.String()
	return s, err == nil
}

func boolean(v val, field string) (bool, bool) {
	f := lookup(v, field)
	if !f.Exists() {
		return false, false
	}
	b, err := f.Bool()
	return b, err == nil
}

func strList(v val, field string) []string {
	f := lookup(v, field)
	if !f.Exists() {
		return nil
	}
	it, err := f.List()
	if err != nil {
		return nil
	}
	var out []string
	for it.Next() {
		s, _ := it.Value().String()
		out = append(out, s)
	}
	return out
}

// duration reads the duration at field of v, which is written at `at`.
func (x *extractor) duration(v val, at fieldPath, field string) *time.Duration {
	s, ok := str(v, field)
	if !ok {
		return nil
	}
	d, err := parseDuration(s)
	if err != nil {
		fp := at.field(field)
		x.errorf(fp, "%s: %v", fp, err)
		return nil
	}
	return &d
}

// timeouts reads the timeouts struct of v, which is written at `at`.
func (x *extractor) timeouts(v val, at fieldPath) timeoutsDecl {
	t := lookup(v, "timeouts")
	if !t.Exists() {
		return timeoutsDecl{}
	}
	at = at.field("timeouts")
	return timeoutsDecl{
		Connect:  x.duration(t, at, "connect"),
		Response: x.duration(t, at, "response"),
		Idle:     x.duration(t, at, "idle"),
		Body:     x.duration(t, at, "body"),
	}
}

// hsts reads the hsts setting of v, which is written at `at`.
func (x *extractor) hsts(v val, at fieldPath) hstsDecl {
	h := lookup(v, "hsts")
	if !h.Exists() {
		return hstsDecl{}
	}
	at = at.field("hsts")
	if b, err := h.Bool(); err == nil {
		return hstsDecl{P: x.pos(at), Set: true, Off: !b}
	}
	d := hstsDecl{P: x.pos(at), Set: true, MaxAge: x.duration(h, at, "max_age")}
	if b, ok := boolean(h, "include_subdomains"); ok {
		d.Subdoms = &b
	}
	if b, ok := boolean(h, "preload"); ok {
		d.Preload = &b
	}
	return d
}

// extractSite reads the evaluated site v of file and makes the per-file checks. Each
// section of the site (hosts, cert, key, routes, redirects, headers) is read by a function
// of its own; the diagnostics come out sorted by position.
func extractSite(name, file string, namePos pos, v val, idx astIndex) (*siteDecl, []Diagnostic) {
	x := &extractor{file: file, idx: idx}
	at := sitePath(name)
	d := &siteDecl{Name: name, File: file, NamePos: namePos}
	d.Hosts = x.hosts(v, at)
	d.Dflt, _ = boolean(v, "default")
	d.DfltPos = x.pos(at.field("default"))
	d.Issuer = x.siteTLS(v, at, name)
	if pv := lookup(v, "passthrough"); pv.Exists() {
		d.Pass = x.passthrough(pv, at)
		x.passthroughOnly(at, d)
		sortDiags(x.ds)
		return d, x.ds
	}
	d.Cert = x.cert(v, at)
	if d.Issuer.S == "" { // an issued certificate's key is the issuer's to make
		d.Key = x.keyRef(v, at)
	}
	d.Routes = x.routes(v, at)
	d.Redirs = x.redirects(v, at, d.Hosts)
	d.Headers = x.headers(v, at)
	d.Pages = x.pages(v, at)
	d.Access = x.access(v, at, true)
	d.ClientAuth = x.clientAuth(v, at)
	if len(d.Routes) == 0 && len(d.Redirs) == 0 && len(x.ds) == 0 {
		x.errorf(at, "site %s has neither routes nor redirects, so it would answer nothing; add e.g. routes: \"/\": upstreams: [\"http://127.0.0.1:3001\"]", name)
	}
	x.checkShadowed(at, d)
	sortDiags(x.ds)
	return d, x.ds
}

// hosts reads the site's host names (normalised), refusing invalid ones and names listed
// twice.
func (x *extractor) hosts(v val, at fieldPath) []strPos {
	var hosts []strPos
	seen := map[string]int{} // normalised -> index in hosts
	for i, h := range strList(v, "hosts") {
		at := at.field("hosts").index(i)
		n, err := normalizeHost(h)
		if err != nil {
			x.errorf(at, "host %q %v", h, err)
			continue
		}
		if j, dup := seen[n]; dup {
			same := ""
			if hosts[j].S != h {
				same = fmt.Sprintf(" (%q is the same name)", h)
			}
			x.errorf(at, "host %q is listed twice%s; also at line %d", n, same, hosts[j].P.Line)
			continue
		}
		seen[n] = len(hosts)
		hosts = append(hosts, strPos{n, x.pos(at)})
	}
	return hosts
}

// cert reads the path of the site's certificate file: a clean path inside the repo, or "."
// when it holds characters no path has.
func (x *extractor) cert(v val, siteAt fieldPath) strPos {
	c, ok := str(v, "cert")
	if !ok {
		return strPos{}
	}
	at := siteAt.field("cert")
	clean := path.Clean(c)
	if !x.plain(at, "cert", c) {
		clean = "."
	} else if !fs.ValidPath(clean) || clean == "." {
		x.errorf(at, "cert %q is not a file path inside the repo; want e.g. \"certs/example.pem\"", c)
	}
	return strPos{clean, x.pos(at)}
}

// keyRef reads where the site's private key is.
func (x *extractor) keyRef(v val, siteAt fieldPath) KeyRef {
	at := siteAt.field("key")
	k := lookup(v, "key")
	var ref KeyRef
	ref.Mount, _ = str(k, "mount")
	ref.Path, _ = str(k, "path")
	ref.Field, _ = str(k, "field")
	ref.Version, _ = x.integer(k, at, "version", 1, maxKeyVersion)
	x.checkKeyRef(at, ref)
	return ref
}

// normalizePrefix checks a route or redirect path prefix and drops a trailing slash ("/api/"
// and "/api" are the same prefix: both match "/api/x" and, as the data plane matches whole
// segments, "/api").
func normalizePrefix(p string) (string, error) {
	switch {
	case p == "":
		return "/", nil
	case !strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("must start with \"/\"")
	case strings.ContainsAny(p, "?#"):
		return "", fmt.Errorf("contains \"?\" or \"#\"; a path prefix has no query or fragment")
	case strings.ContainsAny(p, " \t\r\n\x00"):
		return "", fmt.Errorf("contains white space; percent-encode it (%%20)")
	}
	if r, bad := badRune(p); bad {
		return "", fmt.Errorf("holds the control or invisible character %U; remove it", r)
	}
	if p != "/" {
		p = strings.TrimSuffix(p, "/")
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if (seg == "" && p != "/") || seg == "." || seg == ".." {
			return "", fmt.Errorf("has an empty, \".\" or \"..\" segment; write it as clients send it, e.g. \"/api/v1\"")
		}
	}
	return p, nil
}

// pathUnder reports whether a request path p falls under prefix (whole segments).
func pathUnder(p, prefix string) bool {
	if prefix == "/" {
		return true
	}
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

// extractRepo reads the evaluated repo-level file.
func extractRepo(file string, v val, idx astIndex) (*repoDecl, []Diagnostic) {
	x := &extractor{file: file, idx: idx}
	r := &repoDecl{}
	if dv := lookup(v, "defaults"); dv.Exists() {
		r.HSTS = x.hsts(dv, repoPath("defaults"))
		r.Timeouts = x.timeouts(dv, repoPath("defaults"))
		r.Compress = x.compress(dv, repoPath("defaults"))
	}
	if pv := lookup(v, "policy"); pv.Exists() {
		x.policy(pv, r)
	}
	x.issuers(v, r)
	sortDiags(x.ds)
	return r, x.ds
}

// policy reads the repo's policy into r.
func (x *extractor) policy(pv val, r *repoDecl) {
	at := repoPath("policy")
	for i, s := range strList(pv, "allowed_upstreams") {
		eat := at.field("allowed_upstreams").index(i)
		e, err := parseAllowEntry(s)
		if err != nil {
			x.errorf(eat, "allowed upstream %q %v", s, err)
			continue
		}
		r.Allowed = append(r.Allowed, strPos{s, x.pos(eat)})
		r.AllowedParsed = append(r.AllowedParsed, e)
	}
	r.WarnWithin = x.duration(pv, at, "cert_warn_within")
	r.ErrorWithin = x.duration(pv, at, "cert_error_within")
	r.AllowOverlap, _ = boolean(pv, "allow_wildcard_overlap")
	if r.WarnWithin != nil && r.ErrorWithin != nil && *r.ErrorWithin > *r.WarnWithin {
		x.errorf(at.field("cert_error_within"), "cert_error_within (%s) is longer than cert_warn_within (%s); the error window must lie inside the warning window", formatDuration(*r.ErrorWithin), formatDuration(*r.WarnWithin))
	}
}
