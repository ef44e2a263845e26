package statuspage

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgectl/edge/edge"
)

// upstreamLimit is how many routes one answer of /ui/api/upstreams holds at most.
const upstreamLimit = 20

// routeView is one proxied route and the health of its upstreams.
type routeView struct {
	Site      string         `json:"site"`
	Path      string         `json:"path"`
	Healthy   bool           `json:"healthy"`
	Upstreams []upstreamView `json:"upstreams"`
}

// upstreamView is one upstream of a route: State is "up", "down" (active health checks
// fail) or "ejected" (passively, after failures, until EjectedUntil).
type upstreamView struct {
	URL           string    `json:"url"`
	State         string    `json:"state"`
	Failures      int       `json:"failures"`
	InFlight      int64     `json:"inFlight"`
	HealthChecked bool      `json:"healthChecked"`
	EjectedUntil  time.Time `json:"ejectedUntil,omitzero"`
	Weight        int       `json:"weight,omitempty"` // in a route with weights
}

// routePage is one page of routes, unhealthy first: Matched of Total routes match Q, and
// Unhealthy of those have an upstream down or ejected.
type routePage struct {
	Q         string      `json:"q"`
	Offset    int         `json:"offset"`
	Total     int         `json:"total"`
	Matched   int         `json:"matched"`
	Unhealthy int         `json:"unhealthy"`
	Routes    []routeView `json:"routes"`
}

// routePage pages the routes of the edge whose site name or path contains q.
func (p *page) routePage(v url.Values) routePage {
	res := routePage{Q: strings.ToLower(strings.TrimSpace(v.Get("q"))), Routes: []routeView{}}
	res.Offset, _ = strconv.Atoi(v.Get("offset"))
	res.Offset = max(res.Offset, 0)
	if p.opts.Edge == nil {
		return res
	}
	all := p.opts.Edge.RouteHealth()
	res.Total = len(all)
	views := make([]routeView, 0, len(all))
	for _, r := range all {
		if res.Q != "" && !containsFold(r.Site, res.Q) && !containsFold(r.Path, res.Q) {
			continue
		}
		rv := routeOf(r)
		if !rv.Healthy {
			res.Unhealthy++
		}
		views = append(views, rv)
	}
	res.Matched = len(views)
	slices.SortStableFunc(views, func(a, b routeView) int {
		if a.Healthy != b.Healthy {
			if a.Healthy {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Site, b.Site), cmp.Compare(a.Path, b.Path))
	})
	res.Offset = min(res.Offset, max(len(views)-1, 0)/upstreamLimit*upstreamLimit)
	res.Routes = views[res.Offset:min(res.Offset+upstreamLimit, len(views))]
	return res
}

// routeOf is the view of r.
func routeOf(r edge.RouteHealth) routeView {
	rv := routeView{Site: r.Site, Path: r.Path, Healthy: true, Upstreams: make([]upstreamView, len(r.Upstreams))}
	for i, u := range r.Upstreams {
		uv := upstreamView{URL: u.URL, State: "up", Failures: u.Failures, InFlight: u.InFlight,
			HealthChecked: u.HealthChecked, EjectedUntil: u.EjectedUntil, Weight: u.Weight}
		switch {
		case u.Down:
			uv.State = "down"
		case !u.EjectedUntil.IsZero():
			uv.State = "ejected"
		}
		if uv.State != "up" {
			rv.Healthy = false
		}
		rv.Upstreams[i] = uv
	}
	return rv
}
