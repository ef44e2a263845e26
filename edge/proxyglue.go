package edge

import (
	"net/http"

	"github.com/edgectl/edge/edge/pace"
	"github.com/edgectl/edge/edge/proxy"
	"github.com/edgectl/edge/edge/site"
)

// routeHandlers returns the routeHandlerFunc serving routes through m: each route gets the
// manager's handler for it, itself shared with any identical route. (Routes of a site
// passed unchanged, the same *Site, are not asked for again: buildSnapshot reuses the
// site's prepared entry, handlers included.) Around the proxy, from inside out: encode
// (compression, Cache-Control; counted in cm, which may be nil), authentication (basic,
// forward), CORS (a preflight carries no credentials), the site's error pages; the route's
// IP rules and rate limits go around all of it (Server.withRouteAccess).
func routeHandlers(m *proxy.Manager, cm *compressMetrics, d Denials) routeHandlerFunc {
	return func(s *Site, r *site.Route) (http.Handler, error) {
		var h http.Handler
		if r.Static != nil {
			sh, err := newStaticHandler(s, r)
			if err != nil {
				return nil, err
			}
			h = sh
		} else {
			ph, err := m.Handler(s.Name+" "+r.Path, r)
			if err != nil {
				return nil, err
			}
			h = ph
		}
		var err error
		if h, err = wrapEncode(h, r, cm.routeSite(s.Name, r)); err != nil {
			return nil, err
		}
		if h, err = withAuth(s, r, h, d); err != nil {
			return nil, err
		}
		// CORS outside auth: a preflight carries no credentials and is answered here.
		if h, err = wrapCORS(h, r); err != nil {
			return nil, err
		}
		h = withErrorPages(s, h)
		return h, nil
	}
}

// proxyHandlers lists the proxy handlers snap uses, for proxy.Manager.Sweep.
func proxyHandlers(snap *Snapshot) []*proxy.Handler {
	var out []*proxy.Handler
	var tick pace.Ticker // 10,000 sites: yield to the requests now and then
	for _, e := range snap.sites {
		tick.Tick()
		for i := range e.routes {
			if h, ok := unwrapHandler(e.routes[i].handler).(*proxy.Handler); ok {
				out = append(out, h)
			}
		}
	}
	return out
}

// unwrapHandler returns the innermost handler of h: a handler that wraps another (access
// rules, compression, ...) says which with an Unwrap method, as errors do.
func unwrapHandler(h http.Handler) http.Handler {
	for {
		w, ok := h.(interface{ Unwrap() http.Handler })
		if !ok {
			return h
		}
		h = w.Unwrap()
	}
}
