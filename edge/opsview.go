package edge

import (
	"github.com/edgectl/edge/edge/proxy"
)

// SiteTraffic is what the server counted for one site since it started serving it: the
// numbers behind edge_http_requests_total{site}.
type SiteTraffic struct {
	// Requests counts every response, whatever its class, client_closed included.
	Requests uint64
	// ServerErrors counts the 5xx responses.
	ServerErrors uint64
	// ClientClosed counts requests whose client left before the response was complete.
	ClientClosed uint64
}

// ErrorRate is the share of 5xx among the responses that reached their client; 0 without
// any.
func (t SiteTraffic) ErrorRate() float64 {
	answered := t.Requests - t.ClientClosed
	if answered == 0 {
		return 0
	}
	return float64(t.ServerErrors) / float64(answered)
}

// SiteTraffic returns the request counts of the site named name: zero for a site not
// requested yet or no longer served. It reads a few atomic counters and allocates nothing,
// so an admin page may call it for every site.
func (s *Server) SiteTraffic(name string) SiteTraffic {
	v, ok := s.metrics.siteReqs.Load(name)
	if !ok {
		return SiteTraffic{}
	}
	c := v.(*siteCounters)
	var t SiteTraffic
	for class := range c.n {
		t.Requests += c.n[class].Load()
	}
	t.ServerErrors = c.n[5].Load()
	t.ClientClosed = c.n[classClientClosed].Load()
	return t
}

// RouteHealth is the health of one route's upstreams, or of a passthrough site's. It holds
// internal addresses: show it only on the admin listener.
type RouteHealth struct {
	// Path is the route's; empty for a passthrough site.
	Site, Path string
	// Passthrough is set for a passthrough site: its upstreams' URLs are tcp://host:port,
	// InFlight counts the connections open through each.
	Passthrough bool
	Upstreams   []proxy.UpstreamStatus
}

// RouteHealth returns the upstream health of every proxied route and passthrough site of
// the snapshot being served, in site order and, within a site, longest path first.
// Redirect-only sites have none.
func (s *Server) RouteHealth() []RouteHealth {
	snap := s.Current()
	if snap == nil {
		return nil
	}
	var out []RouteHealth
	for _, e := range snap.sites {
		if e.pool != nil {
			out = append(out, passthroughHealth(e))
			continue
		}
		for i := range e.routes {
			h, ok := unwrapHandler(e.routes[i].handler).(*proxy.Handler)
			if !ok {
				continue
			}
			out = append(out, RouteHealth{Site: e.site.Name, Path: e.routes[i].path, Upstreams: h.Upstreams()})
		}
	}
	return out
}

// passthroughHealth is the RouteHealth of the passthrough site e.
func passthroughHealth(e *siteEntry) RouteHealth {
	ups := e.pool.Upstreams()
	rh := RouteHealth{Site: e.site.Name, Passthrough: true, Upstreams: make([]proxy.UpstreamStatus, len(ups))}
	for i, u := range ups {
		rh.Upstreams[i] = proxy.UpstreamStatus{URL: "tcp://" + u.Addr, Down: u.Down, EjectedUntil: u.EjectedUntil,
			Failures: u.Failures, InFlight: u.Open, HealthChecked: u.HealthChecked}
	}
	return rh
}
