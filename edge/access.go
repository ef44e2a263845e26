package edge

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// Access control of the HTTPS listener, in the order requests meet it:
//
//  1. the site's IP rule (403, reason "ip"), then the site's rate limit (429 with
//     Retry-After, reason "rate_limit"), right after the site is known;
//  2. the site's forbidden paths (404, reason "forbidden_path"), before redirects and
//     routes;
//  3. the route's IP rule, then the route's rate limit, around the route's handler
//     (routeAccess), after the site's.
//
// Every rule uses the client address (clientIP): the connection's peer, which is the
// client given by the PROXY protocol when the peer is a trusted load balancer. A request
// no rule touches costs a nil check per step. Rate limit buckets live with the prepared
// site (and route): they survive snapshot swaps that leave the site unchanged and start
// afresh when its declaration changes. Each edge server keeps its own.

// siteAccess is a site's prepared access control; nil fields are off.
type siteAccess struct {
	ip        *ipRule
	limit     *rateLimiter
	forbidden pathPatterns
}

// newSiteAccess prepares st's access control, or returns nil if it has none. Problems
// are reported through bad.
func newSiteAccess(st *Site, bad func(error, string, ...any)) *siteAccess {
	if err := checkRateLimit(st.RateLimit); err != nil {
		bad(ErrInvalidSite, "rate limit: %v", err)
	}
	for i := range st.Routes {
		if err := checkRateLimit(st.Routes[i].RateLimit); err != nil {
			bad(ErrInvalidSite, "route %q: rate limit: %v", st.Routes[i].Path, err)
		}
	}
	for _, p := range st.ForbiddenPaths {
		if err := site.CheckForbiddenPath(p); err != nil {
			bad(ErrInvalidSite, "forbidden path %q: %v", p, err)
		}
	}
	a := &siteAccess{ip: newIPRule(st.Access), limit: newRateLimiter(st.RateLimit), forbidden: newPathPatterns(st.ForbiddenPaths)}
	if a.ip == nil && a.limit == nil && a.forbidden == nil {
		return nil
	}
	return a
}

// checkRateLimit checks what the limiter relies on (nil is no limit).
func checkRateLimit(l *site.RateLimit) error {
	if l == nil {
		return nil
	}
	switch {
	case l.Requests < 1 || l.Per <= 0:
		return fmt.Errorf("want at least 1 request per positive duration, not %d per %v", l.Requests, l.Per)
	case l.Burst < 0 || l.MaxClients < 0:
		return fmt.Errorf("negative burst or max clients")
	case l.IPv4Prefix < 0 || l.IPv4Prefix > 32 || l.IPv6Prefix < 0 || l.IPv6Prefix > 128:
		return fmt.Errorf("prefix lengths %d and %d; want 0 to 32 and 0 to 128", l.IPv4Prefix, l.IPv6Prefix)
	}
	return nil
}

// admitSite applies the site's IP rule and rate limit to r; if r may not go on, it has
// been answered and admitSite returns false.
func (s *Server) admitSite(w http.ResponseWriter, r *http.Request, e *siteEntry) bool {
	a := e.access
	if a == nil || (a.ip == nil && a.limit == nil) {
		return true
	}
	if status, reason := s.check(w, r, a.ip, a.limit); status != 0 {
		s.metrics.access.denials().deny(w, r, e, status, reason)
		return false
	}
	return true
}

// check applies an IP rule and a rate limit (either may be nil) to r. It returns 0, or
// the status and denial reason r is to be answered with (having set Retry-After).
func (s *Server) check(w http.ResponseWriter, r *http.Request, ip *ipRule, limit *rateLimiter) (int, string) {
	addr := clientIP(r, s.opts.Proxy.TrustedProxies)
	if !ip.permits(addr) {
		return http.StatusForbidden, DenyIP
	}
	if limit == nil {
		return 0, ""
	}
	if ok, wait := limit.allow(limit.key(r, addr), time.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
		return http.StatusTooManyRequests, DenyRateLimit
	}
	return 0, ""
}

// forbidPath answers 404 if the cleaned path p matches one of the site's forbidden
// patterns, and reports whether it did.
func (s *Server) forbidPath(w http.ResponseWriter, r *http.Request, e *siteEntry, p string) bool {
	if e.access == nil || !e.access.forbidden.match(p) {
		return false
	}
	s.metrics.access.denials().deny(w, r, e, http.StatusNotFound, DenyForbiddenPath)
	return true
}

// routeAccess applies a route's IP rule and rate limit before its handler.
type routeAccess struct {
	next  http.Handler
	s     *Server
	site  *Site
	ip    *ipRule
	limit *rateLimiter
}

// withRouteAccess returns handlers with every route that has an IP rule or a rate limit
// wrapped in a routeAccess.
func (s *Server) withRouteAccess(handlers routeHandlerFunc) routeHandlerFunc {
	return func(st *Site, rt *site.Route) (http.Handler, error) {
		h, err := handlers(st, rt)
		if err != nil {
			return nil, err
		}
		ip, limit := newIPRule(rt.Access), newRateLimiter(rt.RateLimit)
		if ip == nil && limit == nil {
			return h, nil
		}
		return &routeAccess{next: h, s: s, site: st, ip: ip, limit: limit}, nil
	}
}

// ServeHTTP implements http.Handler.
func (h *routeAccess) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if status, reason := h.s.check(w, r, h.ip, h.limit); status != 0 {
		h.s.metrics.access.denials().deny(w, r, h.s.Current().entryOf(h.site), status, reason)
		return
	}
	h.next.ServeHTTP(w, r)
}

// Unwrap returns the handler it guards.
func (h *routeAccess) Unwrap() http.Handler { return h.next }

// entryOf returns the entry of the site st in s, for its error pages: the entry of the
// same name if st is no longer served as such (a request that began before a swap).
func (s *Snapshot) entryOf(st *Site) *siteEntry {
	if s == nil {
		return &siteEntry{site: st}
	}
	if e := s.byName[st.Name]; e != nil {
		return e
	}
	return &siteEntry{site: st}
}
