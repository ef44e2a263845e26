package schema

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"

	"github.com/edgectl/edge/edge/site"
)

// extractor reads an evaluated file into Go values, checking what CUE cannot, and records
// diagnostics at the user's text.
type extractor struct {
	file string
	idx  astIndex
	ds   []Diagnostic
}

func (x *extractor) pos(key string) pos {
	if e, ok := x.idx.lookup(key); ok {
		return toPos(e.label)
	}
	return pos{}
}

// valuePos is the position of the value at key (the list element itself, or the field's
// label for struct fields).
func (x *extractor) errorf(key string, format string, args ...any) {
	p := x.pos(key)
	x.ds = append(x.ds, Diagnostic{File: x.file, Line: p.Line, Col: p.Col, Severity: SeverityError, Message: fmt.Sprintf(format, args...)})
}

func (x *extractor) warnf(key string, format string, args ...any) {
	p := x.pos(key)
	x.ds = append(x.ds, Diagnostic{File: x.file, Line: p.Line, Col: p.Col, Severity: SeverityWarning, Message: fmt.Sprintf(format, args...)})
}

func lookup(v cue.Value, field string) cue.Value {
	return v.LookupPath(cue.MakePath(cue.Str(field)))
}

func str(v cue.Value, field string) (string, bool) {
	f := lookup(v, field)
	if !f.Exists() {
		return "", false
	}
	s, err := f.String()
	return s, err == nil
}

func boolean(v cue.Value, field string) (bool, bool) {
	f := lookup(v, field)
	if !f.Exists() {
		return false, false
	}
	b, err := f.Bool()
	return b, err == nil
}

func strList(v cue.Value, field string) []string {
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

func (x *extractor) duration(v cue.Value, field, key string) *time.Duration {
	s, ok := str(v, field)
	if !ok {
		return nil
	}
	d, err := parseDuration(s)
	if err != nil {
		x.errorf(key, "%s: %v", displayKey(key), err)
		return nil
	}
	return &d
}

func (x *extractor) timeouts(v cue.Value, key string) timeoutsDecl {
	t := lookup(v, "timeouts")
	if !t.Exists() {
		return timeoutsDecl{}
	}
	key += ".timeouts"
	return timeoutsDecl{
		Connect:  x.duration(t, "connect", key+".connect"),
		Response: x.duration(t, "response", key+".response"),
		Idle:     x.duration(t, "idle", key+".idle"),
		Body:     x.duration(t, "body", key+".body"),
	}
}

func (x *extractor) hsts(v cue.Value, key string) hstsDecl {
	h := lookup(v, "hsts")
	if !h.Exists() {
		return hstsDecl{}
	}
	key += ".hsts"
	if b, err := h.Bool(); err == nil {
		return hstsDecl{P: x.pos(key), Set: true, Off: !b}
	}
	d := hstsDecl{P: x.pos(key), Set: true, MaxAge: x.duration(h, "max_age", key+".max_age")}
	if b, ok := boolean(h, "include_subdomains"); ok {
		d.Subdoms = &b
	}
	if b, ok := boolean(h, "preload"); ok {
		d.Preload = &b
	}
	return d
}

// displayKey shows an index key relative to the site: `routes."/".upstreams[0]`.
func displayKey(key string) string {
	if strings.HasPrefix(key, "sites.") {
		rest := key[len("sites."):]
		// drop the site label
		if strings.HasPrefix(rest, `"`) {
			if i := strings.Index(rest[1:], `"`); i >= 0 {
				rest = rest[i+2:]
			}
		} else if i := strings.IndexAny(rest, ".["); i >= 0 {
			rest = rest[i:]
		} else {
			rest = ""
		}
		return strings.TrimPrefix(rest, ".")
	}
	return key
}

// extractSite reads the evaluated site v of file and makes the per-file checks.
func extractSite(name, file string, namePos pos, v cue.Value, idx astIndex) (*siteDecl, []Diagnostic) {
	x := &extractor{file: file, idx: idx}
	base := "sites." + quoteKey(name)
	d := &siteDecl{Name: name, File: file, NamePos: namePos}

	// hosts
	seen := map[string]int{}
	for i, h := range strList(v, "hosts") {
		key := fmt.Sprintf("%s.hosts[%d]", base, i)
		n, err := normalizeHost(h)
		if err != nil {
			x.errorf(key, "host %q %v", h, err)
			continue
		}
		if j, dup := seen[n]; dup {
			same := ""
			if d.Hosts[j].S != h {
				same = fmt.Sprintf(" (%q is the same name)", h)
			}
			x.errorf(key, "host %q is listed twice%s; also at line %d", n, same, d.Hosts[j].P.Line)
			continue
		}
		seen[n] = len(d.Hosts)
		d.Hosts = append(d.Hosts, strPos{n, x.pos(key)})
	}

	d.Dflt, _ = boolean(v, "default")
	d.DfltPos = x.pos(base + ".default")

	// certificate file
	if c, ok := str(v, "cert"); ok {
		clean := path.Clean(c)
		if !x.plain(base+".cert", "cert", c) {
			clean = "."
		} else if !fs.ValidPath(clean) || clean == "." {
			x.errorf(base+".cert", "cert %q is not a file path inside the repo; want e.g. \"certs/example.pem\"", c)
		}
		d.Cert = strPos{clean, x.pos(base + ".cert")}
	}

	// key reference
	k := lookup(v, "key")
	d.Key.Mount, _ = str(k, "mount")
	d.Key.Path, _ = str(k, "path")
	d.Key.Field, _ = str(k, "field")
	d.Key.Version, _ = x.integer(k, "version", base+".key.version", 1, maxKeyVersion)
	x.checkKeyRef(base, d.Key)

	// routes
	routePaths := map[string]string{} // normalised -> as written
	if it, err := lookup(v, "routes").Fields(); err == nil && lookup(v, "routes").Exists() {
		for it.Next() {
			raw := it.Selector().Unquoted()
			key := base + ".routes." + strconv.Quote(raw)
			rv := it.Value()
			norm, err := normalizePrefix(raw)
			if err != nil {
				x.errorf(key, "route %q %v", raw, err)
				continue
			}
			if prev, dup := routePaths[norm]; dup {
				x.errorf(key, "route %q is the same prefix as route %q (line %d); merge them into one route", raw, prev, x.pos(base+".routes."+strconv.Quote(prev)).Line)
				continue
			}
			routePaths[norm] = raw
			r := routeDecl{Path: strPos{norm, x.pos(key)}}
			ups := map[string]int{}
			for i, u := range strList(rv, "upstreams") {
				ukey := fmt.Sprintf("%s.upstreams[%d]", key, i)
				if !x.plain(ukey, "upstream", u) {
					continue
				}
				if _, err := parseUpstream(u); err != nil {
					x.errorf(ukey, "upstream %q %v", u, err)
					continue
				}
				if j, dup := ups[u]; dup {
					x.errorf(ukey, "upstream %q is listed twice in route %q (also upstreams[%d])", u, raw, j)
					continue
				}
				ups[u] = i
				r.Upstreams = append(r.Upstreams, strPos{u, x.pos(ukey)})
			}
			r.Balance, _ = str(rv, "balance")
			r.Strip, _ = boolean(rv, "strip_prefix")
			r.Retries, _ = x.integer(rv, "retries", key+".retries", 0, 10)
			r.Timeouts = x.timeouts(rv, key)
			if hc := lookup(rv, "health_check"); hc.Exists() {
				hkey := key + ".health_check"
				h := &site.HealthCheck{}
				h.Path, _ = str(hc, "path")
				if x.plain(hkey+".path", "health_check path", h.Path) && strings.ContainsAny(h.Path, " #") {
					x.errorf(hkey+".path", "health_check path %q contains white space or \"#\"; percent-encode it", h.Path)
				}
				if p := x.duration(hc, "interval", hkey+".interval"); p != nil {
					h.Interval = *p
				}
				if p := x.duration(hc, "timeout", hkey+".timeout"); p != nil {
					h.Timeout = *p
				}
				h.ExpectStatus, _ = x.integer(hc, "expect_status", hkey+".expect_status", 100, 599)
				if h.Interval != 0 && h.Interval < time.Second {
					x.errorf(hkey+".interval", "health_check interval %v is too short; want 1s or more", h.Interval)
				}
				if h.Timeout != 0 && h.Interval != 0 && h.Timeout >= h.Interval {
					x.errorf(hkey+".timeout", "health_check timeout %v must be shorter than its interval %v", h.Timeout, h.Interval)
				}
				r.Health = h
			}
			if r.Retries > 0 && len(r.Upstreams) < 2 && len(r.Upstreams) > 0 {
				x.warnf(key+".retries", "route %q retries on other upstreams but has only one; add upstreams or drop retries", raw)
			}
			d.Routes = append(d.Routes, r)
		}
	}

	// redirects
	if it, err := lookup(v, "redirects").List(); err == nil {
		for i := 0; it.Next(); i++ {
			rv := it.Value()
			key := fmt.Sprintf("%s.redirects[%d]", base, i)
			r := redirectDecl{P: x.pos(key)}
			to, _ := str(rv, "to")
			r.To = strPos{to, x.pos(key + ".to")}
			r.Path, _ = str(rv, "path")
			r.Status, _ = x.integer(rv, "status", key+".status", 300, 399)
			r.KeepPath, _ = boolean(rv, "keep_path")
			if n, err := normalizePrefix(r.Path); err != nil {
				x.errorf(key+".path", "redirect path %q %v", r.Path, err)
			} else {
				r.Path = n
			}
			u, err := url.Parse(to)
			switch {
			case !x.plain(key+".to", "redirect target", to):
			case err != nil:
				x.errorf(key+".to", "redirect target %q is not a URL (%s); want e.g. \"https://example.com\"", to, cleanURLErr(err))
			case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
				x.errorf(key+".to", "redirect target %q needs a scheme and host, e.g. \"https://example.com\"", to)
			case u.User != nil:
				x.errorf(key+".to", "redirect target %q carries a user name or password; remove it", to)
			case !validPort(u):
				x.errorf(key+".to", "redirect target %q has port %q; want a number from 1 to 65535, or none", to, u.Port())
			case u.Fragment != "" || (r.KeepPath && (u.RawQuery != "" || u.ForceQuery)):
				x.errorf(key+".to", "redirect target %q has a query or fragment; with keep_path the request's path and query are appended, so give only scheme, host and path", to)
			default:
				if _, err := normalizeHost(u.Hostname()); err != nil {
					if _, err2 := parseUpstream("http://" + u.Host); err2 != nil {
						x.errorf(key+".to", "redirect target %q has host %q, which %v", to, u.Hostname(), err)
					}
				} else if !isASCII(to) {
					x.errorf(key+".to", "redirect target %q is not ASCII; a Location header carries a URI: write it %q", to, asciiURL(u))
				}
			}
			for j, h := range strList(rv, "hosts") {
				hkey := fmt.Sprintf("%s.hosts[%d]", key, j)
				n, err := normalizeHost(h)
				if err != nil {
					x.errorf(hkey, "host %q %v", h, err)
					continue
				}
				if _, ok := seen[n]; !ok {
					x.errorf(hkey, "redirect host %q is not one of the site's hosts; a redirect can only answer for names the site declares in hosts", h)
					continue
				}
				r.Hosts = append(r.Hosts, strPos{n, x.pos(hkey)})
			}
			if u != nil && err == nil && u.Host != "" {
				x.checkLoop(key, r, u, d.Hosts)
			}
			d.Redirs = append(d.Redirs, r)
		}
	}

	// headers
	if hv := lookup(v, "headers"); hv.Exists() {
		key := base + ".headers"
		d.Headers.HSTS = x.hsts(hv, key)
		if it, err := lookup(hv, "set").Fields(); err == nil {
			d.Headers.Set = map[string]string{}
			for it.Next() {
				name := it.Selector().Unquoted()
				val, _ := it.Value().String()
				hkey := key + ".set." + quoteKey(name)
				canon := http.CanonicalHeaderKey(name)
				if canon == "Strict-Transport-Security" {
					x.errorf(hkey, "set Strict-Transport-Security with headers.hsts, not headers.set")
					continue
				}
				if why := checkHeaderSet(name, val); why != "" {
					x.errorf(hkey, "%s", why)
					continue
				}
				if _, dup := d.Headers.Set[canon]; dup {
					x.errorf(hkey, "header %s is set twice (header names are case-insensitive)", name)
					continue
				}
				d.Headers.Set[canon] = val
			}
		}
		for i, name := range strList(hv, "remove") {
			canon := http.CanonicalHeaderKey(name)
			if why := checkHeaderRemove(name); why != "" {
				x.errorf(fmt.Sprintf("%s.remove[%d]", key, i), "%s", why)
				continue
			}
			if _, both := d.Headers.Set[canon]; both {
				x.errorf(fmt.Sprintf("%s.remove[%d]", key, i), "header %s is both set and removed; keep one", name)
				continue
			}
			d.Headers.Remove = append(d.Headers.Remove, canon)
		}
	}

	if len(d.Routes) == 0 && len(d.Redirs) == 0 && len(x.ds) == 0 {
		x.errorf(base, "site %s has neither routes nor redirects, so it would answer nothing; add e.g. routes: \"/\": upstreams: [\"http://127.0.0.1:3001\"]", name)
	}
	x.checkShadowed(base, d)
	sortDiags(x.ds)
	return d, x.ds
}

func quoteKey(name string) string {
	if isIdent(name) {
		return name
	}
	return strconv.Quote(name)
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

// checkLoop refuses a redirect that sends a request back to a name and path it answers.
func (x *extractor) checkLoop(key string, r redirectDecl, to *url.URL, hosts []strPos) {
	if to.Scheme != "https" {
		return
	}
	if p := to.Port(); p != "" && p != "443" {
		return
	}
	th, err := normalizeHost(to.Hostname())
	if err != nil {
		return
	}
	applies := r.Hosts
	if len(applies) == 0 {
		applies = hosts
	}
	for _, h := range applies {
		if !hostMatches(h.S, th) {
			continue
		}
		tp := to.Path
		if tp == "" {
			tp = "/"
		}
		if pathUnder(strings.TrimSuffix(tp, "/")+"/", r.Path) || pathUnder(tp, r.Path) {
			x.errorf(key+".to", "redirect to %q is a loop: %s is one of the names this redirect answers for; limit it with hosts: [...] to the names that should move", to.String(), th)
		}
		return
	}
}

// checkShadowed refuses routes no request can reach because a redirect for all of the
// site's hosts answers first. Each route is reported once, for the first such redirect, so
// the diagnostics grow with the routes, not with routes times redirects.
func (x *extractor) checkShadowed(base string, d *siteDecl) {
	for _, rt := range d.Routes {
		for i, r := range d.Redirs {
			if len(r.Hosts) != 0 && len(r.Hosts) < len(d.Hosts) {
				continue
			}
			if pathUnder(rt.Path.S, r.Path) {
				x.errorf(base+".routes."+strconv.Quote(rt.Path.S), "route %q is never used: redirects[%d] (line %d) answers every request under %q first; remove the route, or limit the redirect with hosts: [...] or path", rt.Path.S, i, r.P.Line, r.Path)
				break
			}
		}
	}
}

// extractRepo reads the evaluated repo-level file.
func extractRepo(file string, v cue.Value, idx astIndex) (*repoDecl, []Diagnostic) {
	x := &extractor{file: file, idx: idx}
	r := &repoDecl{}
	if dv := lookup(v, "defaults"); dv.Exists() {
		r.HSTS = x.hsts(dv, "defaults")
		r.Timeouts = x.timeouts(dv, "defaults")
	}
	if pv := lookup(v, "policy"); pv.Exists() {
		for i, s := range strList(pv, "allowed_upstreams") {
			key := fmt.Sprintf("policy.allowed_upstreams[%d]", i)
			e, err := parseAllowEntry(s)
			if err != nil {
				x.errorf(key, "allowed upstream %q %v", s, err)
				continue
			}
			r.Allowed = append(r.Allowed, strPos{s, x.pos(key)})
			r.AllowedParsed = append(r.AllowedParsed, e)
		}
		r.WarnWithin = x.duration(pv, "cert_warn_within", "policy.cert_warn_within")
		r.ErrorWithin = x.duration(pv, "cert_error_within", "policy.cert_error_within")
		r.AllowOverlap, _ = boolean(pv, "allow_wildcard_overlap")
		if r.WarnWithin != nil && r.ErrorWithin != nil && *r.ErrorWithin > *r.WarnWithin {
			x.errorf("policy.cert_error_within", "cert_error_within (%s) is longer than cert_warn_within (%s); the error window must lie inside the warning window", formatDuration(*r.ErrorWithin), formatDuration(*r.WarnWithin))
		}
	}
	sortDiags(x.ds)
	return r, x.ds
}
