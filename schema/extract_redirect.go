package schema

import (
	"net/url"
	"strings"
)

// redirects reads the redirects of the site at site, whose hosts are hosts.
func (x *extractor) redirects(v val, at fieldPath, hosts []strPos) []redirectDecl {
	it, err := lookup(v, "redirects").List()
	if err != nil {
		return nil
	}
	siteHosts := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		siteHosts[h.S] = true
	}
	var redirs []redirectDecl
	for i := 0; it.Next(); i++ {
		redirs = append(redirs, x.redirect(it.Value(), at.field("redirects").index(i), hosts, siteHosts))
	}
	return redirs
}

// redirect reads the redirect at at: its target, path, status and the hosts it answers
// for, refusing a target that is not an absolute URL or that loops back to the redirect.
func (x *extractor) redirect(v val, at fieldPath, hosts []strPos, siteHosts map[string]bool) redirectDecl {
	r := redirectDecl{P: x.pos(at)}
	to, _ := str(v, "to")
	r.To = strPos{to, x.pos(at.field("to"))}
	r.Path, _ = str(v, "path")
	r.Status, _ = x.integer(v, at, "status", 300, 399)
	r.KeepPath, _ = boolean(v, "keep_path")
	if n, err := normalizePrefix(r.Path); err != nil {
		x.errorf(at.field("path"), "redirect path %q %v", r.Path, err)
	} else {
		r.Path = n
	}
	u, err := url.Parse(to)
	x.checkRedirectTarget(at.field("to"), to, u, err, r.KeepPath)
	r.Hosts = x.redirectHosts(v, at, siteHosts)
	if u != nil && err == nil && u.Host != "" {
		x.checkLoop(at, r, u, hosts)
	}
	return r
}

// checkRedirectTarget refuses a redirect target to (written at at, parsed to u or err)
// that a Location header cannot carry as written.
func (x *extractor) checkRedirectTarget(at fieldPath, to string, u *url.URL, err error, keepPath bool) {
	switch {
	case !x.plain(at, "redirect target", to):
	case err != nil:
		x.errorf(at, "redirect target %q is not a URL (%s); want e.g. \"https://example.com\"", to, cleanURLErr(err))
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		x.errorf(at, "redirect target %q needs a scheme and host, e.g. \"https://example.com\"", to)
	case u.User != nil:
		x.errorf(at, "redirect target %q carries a user name or password; remove it", to)
	case !validPort(u):
		x.errorf(at, "redirect target %q has port %q; want a number from 1 to 65535, or none", to, u.Port())
	case u.Fragment != "" || (keepPath && (u.RawQuery != "" || u.ForceQuery)):
		x.errorf(at, "redirect target %q has a query or fragment; with keep_path the request's path and query are appended, so give only scheme, host and path", to)
	default:
		if _, err := normalizeHost(u.Hostname()); err != nil {
			if _, err2 := parseUpstream("http://" + u.Host); err2 != nil {
				x.errorf(at, "redirect target %q has host %q, which %v", to, u.Hostname(), err)
			}
		} else if !isASCII(to) {
			x.errorf(at, "redirect target %q is not ASCII; a Location header carries a URI: write it %q", to, asciiURL(u))
		}
	}
}

// redirectHosts reads the hosts the redirect at redirect answers for (normalised), which
// must be among the site's hosts.
func (x *extractor) redirectHosts(v val, redirect fieldPath, siteHosts map[string]bool) []strPos {
	var hosts []strPos
	for j, h := range strList(v, "hosts") {
		at := redirect.field("hosts").index(j)
		n, err := normalizeHost(h)
		if err != nil {
			x.errorf(at, "host %q %v", h, err)
			continue
		}
		if !siteHosts[n] {
			x.errorf(at, "redirect host %q is not one of the site's hosts; a redirect can only answer for names the site declares in hosts", h)
			continue
		}
		hosts = append(hosts, strPos{n, x.pos(at)})
	}
	return hosts
}

// checkLoop refuses a redirect that sends a request back to a name and path it answers.
func (x *extractor) checkLoop(at fieldPath, r redirectDecl, to *url.URL, hosts []strPos) {
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
			x.errorf(at.field("to"), "redirect to %q is a loop: %s is one of the names this redirect answers for; limit it with hosts: [...] to the names that should move", to.String(), th)
		}
		return
	}
}
