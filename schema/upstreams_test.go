package schema_test

import (
	"slices"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// TestUpstreamsBuild: weighted upstreams and sticky settings build into site.Route with
// their values; plain URLs weigh 1, and a list without weights has none.
func TestUpstreamsBuild(t *testing.T) {
	cfg, _ := loadValidCase(t, "upstreams_weighted")
	routes := routesByPath(cfg.Sites[0])
	for _, tc := range []struct {
		path    string
		ups     int
		weights []int
		sticky  *site.Sticky
	}{
		{"/", 2, []int{95, 5}, &site.Sticky{Cookie: "edge_srv", MaxAge: 12 * time.Hour, SameSite: site.SameSiteStrict, NoHTTPOnly: true}},
		{"/api", 2, []int{1, 3}, &site.Sticky{Cookie: "api_srv", SameSite: site.SameSiteLax}},
		{"/plain", 2, nil, nil},
		{"/one", 1, []int{7}, nil},
	} {
		r, ok := routes[tc.path]
		if !ok {
			t.Errorf("route %s missing", tc.path)
			continue
		}
		if len(r.Upstreams) != tc.ups || !slices.Equal(r.Weights, tc.weights) {
			t.Errorf("route %s: %d upstreams, weights %v; want %d, %v", tc.path, len(r.Upstreams), r.Weights, tc.ups, tc.weights)
		}
		if (r.Sticky == nil) != (tc.sticky == nil) || (r.Sticky != nil && *r.Sticky != *tc.sticky) {
			t.Errorf("route %s: sticky %+v; want %+v", tc.path, r.Sticky, tc.sticky)
		}
	}
	if u := routes["/api"].Upstreams[1].String(); u != "http://127.0.0.1:3004" {
		t.Errorf("route /api upstream 1 = %s; want the weighted entry's url", u)
	}
}
