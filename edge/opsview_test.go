package edge

import (
	"net/url"
	"testing"
)

// TestSiteTrafficAndRouteHealth: the read-only accessors count what the metrics count and
// report every proxied route with its upstreams.
func TestSiteTrafficAndRouteHealth(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	shop, blog, apps := routingSites(t)
	down := testSite(t, "down", "down.example.com") // its upstream, port 1, refuses
	publish(t, srv, 1, shop, blog, apps, down)
	c := httpClient(t, srv.Addr(), false)
	for range 3 {
		get(t, c, "https://shop.example.com/")
	}
	get(t, c, "https://down.example.com/")

	if got := srv.SiteTraffic("shop"); got.Requests != 3 || got.ServerErrors != 0 || got.ErrorRate() != 0 {
		t.Errorf("shop traffic %+v; want 3 requests, no 5xx", got)
	}
	if got := srv.SiteTraffic("down"); got.Requests != 1 || got.ServerErrors != 1 || got.ErrorRate() != 1 {
		t.Errorf("down traffic %+v; want 1 request, a 5xx", got)
	}
	if got := srv.SiteTraffic("nosuch"); got != (SiteTraffic{}) {
		t.Errorf("unknown site traffic %+v; want zero", got)
	}

	routes := srv.RouteHealth()
	byRoute := map[string]RouteHealth{}
	for _, r := range routes {
		byRoute[r.Site+" "+r.Path] = r
	}
	if len(routes) != 5 {
		t.Errorf("%d routes; want 5 (shop / and /api, blog, apps, down): %+v", len(routes), routes)
	}
	r, ok := byRoute["down /"]
	if !ok || len(r.Upstreams) != 1 {
		t.Fatalf("route down /: %+v; want one upstream", r)
	}
	if u, _ := url.Parse(r.Upstreams[0].URL); u.Host != "127.0.0.1:1" || r.Upstreams[0].Failures == 0 {
		t.Errorf("down's upstream %+v; want 127.0.0.1:1 with a failure", r.Upstreams[0])
	}
	if r := byRoute["shop /api"]; len(r.Upstreams) != 1 || r.Upstreams[0].Failures != 0 {
		t.Errorf("shop /api upstreams %+v; want one, healthy", r.Upstreams)
	}
}
