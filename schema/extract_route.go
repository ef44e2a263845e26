package schema

import (
	"fmt"
	"strings"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// routes reads the routes of the site at site, refusing invalid path prefixes and prefixes
// that are the same as another route's.
func (x *extractor) routes(v val, siteAt fieldPath) []routeDecl {
	rv := lookup(v, "routes")
	it, err := rv.Fields()
	if err != nil || !rv.Exists() {
		return nil
	}
	var routes []routeDecl
	seen := map[string]string{} // normalised -> as written
	for it.Next() {
		raw := it.Label()
		at := siteAt.field("routes").field(raw)
		norm, err := normalizePrefix(raw)
		if err != nil {
			x.errorf(at, "route %q %v", raw, err)
			continue
		}
		if prev, dup := seen[norm]; dup {
			x.errorf(at, "route %q is the same prefix as route %q (line %d); merge them into one route", raw, prev, x.pos(siteAt.field("routes").field(prev)).Line)
			continue
		}
		seen[norm] = raw
		routes = append(routes, x.route(it.Value(), at, raw, norm))
	}
	return routes
}

// route reads the route at at, written as raw and normalised to norm.
func (x *extractor) route(v val, at fieldPath, raw, norm string) routeDecl {
	r := routeDecl{Path: strPos{norm, x.pos(at)}}
	r.Upstreams = x.upstreams(v, at, fmt.Sprintf("route %q", raw), parseUpstream)
	r.Weights = x.weights(v, at, raw, len(r.Upstreams))
	r.Sticky = x.sticky(v, at)
	r.Balance, _ = str(v, "balance")
	r.Strip, _ = boolean(v, "strip_prefix")
	r.Retries, _ = x.integer(v, at, "retries", 0, 10)
	r.Timeouts = x.timeouts(v, at)
	r.Health = x.healthCheck(v, at)
	r.Enc = x.encode(v, at, norm)
	r.Access = x.access(v, at, false)
	x.routeAuth(v, at, &r)
	x.static(v, at, raw, &r)
	if r.Retries > 0 && len(r.Upstreams) < 2 && len(r.Upstreams) > 0 {
		x.warnf(at.field("retries"), "route %q retries on other upstreams but has only one; add upstreams or drop retries", raw)
	}
	return r
}

// upstreams reads the upstream list at owner (a route or a passthrough, named by in for
// messages, e.g. `route "/api"`), refusing entries parse rejects and entries listed twice.
func (x *extractor) upstreams(v val, owner fieldPath, in string, parse func(string) (string, error)) []strPos {
	var ups []strPos
	seen := map[string]int{} // as written -> index in the list
	for i, e := range upstreamEntries(v) {
		at := owner.field("upstreams").index(i)
		if e.inStruct {
			at = at.field("url")
		}
		u := e.url
		if !x.plain(at, "upstream", u) {
			continue
		}
		if _, err := parse(u); err != nil {
			x.errorf(at, "upstream %q %v", u, err)
			continue
		}
		if j, dup := seen[u]; dup {
			x.errorf(at, "upstream %q is listed twice in %s (also upstreams[%d])", u, in, j)
			continue
		}
		seen[u] = i
		ups = append(ups, strPos{u, x.pos(at)})
	}
	return ups
}

// healthCheck reads the health check of the route at route; nil when it has none.
func (x *extractor) healthCheck(v val, route fieldPath) *site.HealthCheck {
	hc := lookup(v, "health_check")
	if !hc.Exists() {
		return nil
	}
	at := route.field("health_check")
	h := &site.HealthCheck{}
	h.Path, _ = str(hc, "path")
	if x.plain(at.field("path"), "health_check path", h.Path) && strings.ContainsAny(h.Path, " #") {
		x.errorf(at.field("path"), "health_check path %q contains white space or \"#\"; percent-encode it", h.Path)
	}
	x.checkTiming(hc, at, h)
	h.ExpectStatus, _ = x.integer(hc, at, "expect_status", 100, 599)
	return h
}

// checkTiming reads a health check's interval and timeout into h, refusing an interval
// under a second and a timeout that is not shorter than the interval.
func (x *extractor) checkTiming(hc val, at fieldPath, h *site.HealthCheck) {
	if p := x.duration(hc, at, "interval"); p != nil {
		h.Interval = *p
	}
	if p := x.duration(hc, at, "timeout"); p != nil {
		h.Timeout = *p
	}
	if h.Interval != 0 && h.Interval < time.Second {
		x.errorf(at.field("interval"), "health_check interval %v is too short; want 1s or more", h.Interval)
	}
	if h.Timeout != 0 && h.Interval != 0 && h.Timeout >= h.Interval {
		x.errorf(at.field("timeout"), "health_check timeout %v must be shorter than its interval %v", h.Timeout, h.Interval)
	}
}

// checkShadowed refuses routes no request can reach because a redirect for all of the
// site's hosts answers first. Each route is reported once, for the first such redirect, so
// the diagnostics grow with the routes, not with routes times redirects.
func (x *extractor) checkShadowed(at fieldPath, d *siteDecl) {
	for _, rt := range d.Routes {
		for i, r := range d.Redirs {
			if len(r.Hosts) != 0 && len(r.Hosts) < len(d.Hosts) {
				continue
			}
			if pathUnder(rt.Path.S, r.Path) {
				x.errorf(at.field("routes").field(rt.Path.S), "route %q is never used: redirects[%d] (line %d) answers every request under %q first; remove the route, or limit the redirect with hosts: [...] or path", rt.Path.S, i, r.P.Line, r.Path)
				break
			}
		}
	}
}
