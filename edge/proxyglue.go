package edge

import (
	"net/http"

	"github.com/edgectl/edge/edge/proxy"
)

// proxyConfig converts a route of site into the proxy's configuration, field by field.
func proxyConfig(site *Site, r *Route) proxy.Config {
	c := proxy.Config{
		Name:            site.Name + " " + r.Path,
		Path:            r.Path,
		Upstreams:       r.Upstreams,
		Balance:         r.Balance,
		StripPrefix:     r.StripPrefix,
		ConnectTimeout:  r.ConnectTimeout,
		ResponseTimeout: r.ResponseTimeout,
		IdleTimeout:     r.IdleTimeout,
		BodyTimeout:     r.BodyTimeout,
		Retries:         r.Retries,
		HealthCheck:     r.HealthCheck, // copied by the proxy before defaults are applied
	}
	return c
}

// routeHandlers returns the RouteHandlerFunc serving routes through m: each route gets the
// manager's handler for its configuration, itself shared with any identical route. (Routes
// of a site passed unchanged, the same *Site, are not asked for again: buildSnapshot reuses
// the site's prepared entry, handlers included.)
func routeHandlers(m *proxy.Manager) RouteHandlerFunc {
	return func(site *Site, r *Route) (http.Handler, error) {
		return m.Handler(proxyConfig(site, r))
	}
}

// proxyHandlers lists the proxy handlers snap uses, for proxy.Manager.Sweep.
func proxyHandlers(snap *Snapshot) []*proxy.Handler {
	var out []*proxy.Handler
	for _, e := range snap.sites {
		for i := range e.routes {
			if h, ok := e.routes[i].handler.(*proxy.Handler); ok {
				out = append(out, h)
			}
		}
	}
	return out
}
