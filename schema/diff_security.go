package schema

import (
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/edgectl/edge/edge/site"
)

// SecurityChange is a change of a plan that weakens, or may weaken, who can reach a site
// or what protects it: a protection removed from a site or a route, requests moved to a
// route without the protection their route had, a host moved to a site without it. Plans
// list them apart, so that a pull request that opens a site to the world or drops its
// authentication is seen as such.
type SecurityChange struct {
	// Site and File are the site of the head revision the change is about.
	Site string `json:"site"`
	File string `json:"file"`
	// Route is the path of the requests concerned; empty for the site as a whole.
	Route string `json:"route,omitempty"`
	// What is the protection as declared ("headers.hsts", "access", "basic_auth").
	What string `json:"what"`
	// Kind is "removed" (the protection is gone) or "changed" (it differs: review it).
	Kind string `json:"kind"`
	// Message says it in one line, e.g. "site shop: access rules removed (now open to any
	// address)".
	Message string `json:"message"`
}

// The kinds of a SecurityChange.
const (
	SecurityRemoved = "removed"
	SecurityChanged = "changed"
)

// A guard is one protection a site or a route may declare. Its value comes from the site
// model; the zero value (nil, empty list, zero struct) means the protection is absent.
// Values are compared with reflect.DeepEqual and never shown (they may name Vault paths
// or networks; the plan's per-site changes describe them where they are shown at all).
type guard struct {
	what    string // as declared: "access", "basic_auth"
	label   string // in words: "access rules", "basic authentication"
	removed string // what its removal means: "now open to any address"
	site    func(*site.Site) any
	route   func(*site.Route) any
}

func siteGuard(what, label, removed string, of func(*site.Site) any) guard {
	return guard{what: what, label: label, removed: removed, site: of}
}

func routeGuard(what, label, removed string, of func(*site.Route) any) guard {
	return guard{what: what, label: label, removed: removed, route: of}
}

// guards are the protections plans watch. A new protection of the site model is one line.
var guards = []guard{
	siteGuard("headers.hsts", "HSTS", "browsers are no longer told to insist on HTTPS", func(s *site.Site) any { return s.Headers.HSTS }),
	siteGuard("access", "access rules", "now open to any address", func(s *site.Site) any { return s.Access }),
	siteGuard("forbidden_paths", "forbidden paths", "those paths now reach the app", func(s *site.Site) any { return s.ForbiddenPaths }),
	siteGuard("rate_limit", "rate limit", "no limit on a client's requests", func(s *site.Site) any { return s.RateLimit }),
	siteGuard("client_auth", "client certificates (mTLS)", "no client certificate asked for", func(s *site.Site) any { return s.ClientAuth }),
	routeGuard("access", "access rules", "now open to any address", func(r *site.Route) any { return r.Access }),
	routeGuard("rate_limit", "rate limit", "no limit on a client's requests", func(r *site.Route) any { return r.RateLimit }),
	routeGuard("basic_auth", "basic authentication", "no password asked for", func(r *site.Route) any { return r.BasicAuth }),
	routeGuard("forward_auth", "forward authentication", "the auth service is no longer asked", func(r *site.Route) any { return r.ForwardAuth }),
}

// present reports whether a guard's value is set.
func present(v any) bool {
	if v == nil {
		return false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map:
		return rv.Len() > 0
	}
	return !rv.IsZero()
}

// securityChanges lists the security changes between base and head: for each head site,
// against its own base version and against the base sites that served any of its hosts.
func securityChanges(base, head map[string]*Site) []SecurityChange {
	baseByHost := map[string]*Site{}
	for _, b := range base {
		for _, h := range b.Hosts {
			baseByHost[h] = b
		}
	}
	var out []SecurityChange
	for _, hs := range sortedSites(head) {
		done := map[string]bool{}
		if bs := base[hs.Name]; bs != nil && bs.Digest != hs.Digest {
			out = append(out, compareGuards(bs, hs, "site "+hs.Name)...)
		}
		done[hs.Name] = true
		for _, h := range hs.Hosts {
			bs := baseByHost[h]
			if bs == nil || done[bs.Name] {
				continue
			}
			done[bs.Name] = true
			out = append(out, compareGuards(bs, hs, fmt.Sprintf("host %s (moved from site %s to site %s)", h, bs.Name, hs.Name))...)
		}
	}
	return out
}

func sortedSites(m map[string]*Site) []*Site {
	out := make([]*Site, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// compareGuards lists what protects requests of b that no longer, or differently,
// protects them in h; subject names whose requests ("site shop").
func compareGuards(b, h *Site, subject string) []SecurityChange {
	var out []SecurityChange
	add := func(g guard, route, kind, msg string) {
		out = append(out, SecurityChange{Site: h.Name, File: h.File, Route: route, What: g.what, Kind: kind, Message: msg})
	}
	for _, g := range guards {
		if g.site == nil {
			continue
		}
		bv, hv := g.site(&b.Site), g.site(&h.Site)
		switch {
		case present(bv) && !present(hv):
			add(g, "", SecurityRemoved, fmt.Sprintf("%s: %s removed (%s)", subject, g.label, g.removed))
		case present(bv) && !reflect.DeepEqual(bv, hv):
			add(g, "", SecurityChanged, fmt.Sprintf("%s: %s changed; review it", subject, g.label))
		}
	}
	for _, p := range routePaths(b, h) {
		br, hr := servingRoute(b.Routes, p), servingRoute(h.Routes, p)
		if br == nil || hr == nil {
			continue // not served before (new), or not any more (404)
		}
		for _, g := range guards {
			if g.route == nil {
				continue
			}
			if kind, msg := routeGuardChange(g, br, hr, p); kind != "" {
				add(g, p, kind, subject+": "+msg)
			}
		}
	}
	return out
}

// routeGuardChange compares guard g of the routes serving requests under path p before
// (br) and after (hr); "" when it protects them as before.
func routeGuardChange(g guard, br, hr *site.Route, p string) (kind, msg string) {
	bv, hv := g.route(br), g.route(hr)
	if !present(bv) || reflect.DeepEqual(bv, hv) && br.Path == hr.Path {
		return "", ""
	}
	switch {
	case br.Path == hr.Path && !present(hv):
		return SecurityRemoved, fmt.Sprintf("route %s: %s removed (%s)", p, g.label, g.removed)
	case br.Path == hr.Path:
		return SecurityChanged, fmt.Sprintf("route %s: %s changed; review it", p, g.label)
	case !present(hv):
		return SecurityRemoved, fmt.Sprintf("requests under %s went to route %s, with %s, and now go to route %s, without (%s)", p, br.Path, g.label, hr.Path, g.removed)
	case !reflect.DeepEqual(bv, hv):
		return SecurityChanged, fmt.Sprintf("requests under %s went to route %s and now go to route %s, whose %s differs; review it", p, br.Path, hr.Path, g.label)
	}
	return "", ""
}

// routePaths are the route paths of a and b, sorted, each once.
func routePaths(a, b *Site) []string {
	var ps []string
	for _, s := range []*Site{a, b} {
		for _, r := range s.Routes {
			if !slices.Contains(ps, r.Path) {
				ps = append(ps, r.Path)
			}
		}
	}
	sort.Strings(ps)
	return ps
}

// servingRoute is the route of routes that serves requests to path p: the longest prefix
// p is under; nil when none.
func servingRoute(routes []site.Route, p string) *site.Route {
	var best *site.Route
	for i := range routes {
		r := &routes[i]
		if pathUnder(p, r.Path) && (best == nil || len(r.Path) > len(best.Path)) {
			best = r
		}
	}
	return best
}
