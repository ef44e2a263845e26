package proxy

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

// BenchmarkPick measures the choice of an upstream alone, in parallel: the lock-free
// rotation, smooth weighted round robin (a mutex per route), weighted least conn, and the
// sticky lookup of a request carrying the cookie.
func BenchmarkPick(b *testing.B) {
	ups := []*url.URL{{Scheme: "http", Host: "127.0.0.1:1"}, {Scheme: "http", Host: "127.0.0.1:2"}}
	for _, tc := range []struct {
		name string
		r    site.Route
	}{
		{"round_robin", site.Route{Path: "/", Upstreams: ups}},
		{"weighted_95_5", site.Route{Path: "/", Upstreams: ups, Weights: []int{95, 5}}},
		{"weighted_least_conn", site.Route{Path: "/", Upstreams: ups, Weights: []int{95, 5}, Balance: site.LeastConn}},
		{"sticky_cookie", site.Route{Path: "/", Upstreams: ups, Weights: []int{95, 5}, Sticky: &site.Sticky{Cookie: "srv"}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := NewManager(Options{})
			defer m.Close()
			h, err := m.Handler("", &tc.r)
			if err != nil {
				b.Fatal(err)
			}
			req, _ := http.NewRequest("GET", "http://x/", nil)
			req.Header.Set("Cookie", fmt.Sprintf("a=1; srv=%s; b=2", stickyToken("srv", ups[1])))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				info := &Info{}
				for pb.Next() {
					info.tried, info.stuck = 0, nil
					if h.choose(req, info, 0) < 0 {
						b.Error("no upstream")
						return
					}
				}
			})
		})
	}
}
