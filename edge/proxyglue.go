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
		Retries:         r.Retries,
	}
	if hc := r.HealthCheck; hc != nil {
		c.HealthCheck = &proxy.HealthCheck{Path: hc.Path, Interval: hc.Interval, Timeout: hc.Timeout, ExpectStatus: hc.ExpectStatus}
	}
	return c
}

// routeHandlers returns the RouteHandlerFunc of a snapshot built on top of prev: a route
// of a site that is the very same *Site as in prev (the agent keeps unchanged sites) gets
// prev's handler back without asking the manager; any other route gets the manager's
// handler for its configuration, itself shared with any identical route.
func routeHandlers(m *proxy.Manager, prev *Snapshot) RouteHandlerFunc {
	return func(site *Site, r *Route) (http.Handler, error) {
		if prev != nil {
			if old := prev.byName[site.Name]; old != nil && old.site == site {
				for i := range old.routes {
					if old.routes[i].route == r {
						return old.routes[i].handler, nil
					}
				}
			}
		}
		h, err := m.Handler(proxyConfig(site, r))
		if err != nil {
			return nil, err
		}
		return h, nil
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
