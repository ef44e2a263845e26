package edge

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// BenchmarkAccessChecks: the cost of the site's access steps per request: none declared,
// an IP rule of a few networks, a rate limit never reached, forbidden path patterns.
func BenchmarkAccessChecks(b *testing.B) {
	srv := NewServer(Options{Logger: quietLogger})
	bad := func(error, string, ...any) { b.Fatal("invalid") }
	for _, bc := range []struct {
		name string
		st   site.Site
	}{
		{"none", site.Site{}},
		{"ip_rule", site.Site{Access: &site.Access{Allow: prefixes("10.0.0.0/8", "192.168.0.0/16", "127.0.0.0/8", "2001:db8::/32"), Deny: prefixes("127.0.0.66/32")}}},
		{"rate_limit", site.Site{RateLimit: &site.RateLimit{Requests: 1e9, Per: time.Second}}},
		{"forbidden_paths", site.Site{ForbiddenPaths: []string{"/.git/*", "*.bak", "*.sql", "/.env"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := &siteEntry{site: &Site{Site: bc.st}}
			e.access = newSiteAccess(e.site, bad)
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/static/app.js", nil)
			r.RemoteAddr = "127.0.0.1:40000"
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !srv.admitSite(w, r, e) || srv.forbidPath(w, r, e, "/static/app.js") {
						b.Fatal("denied")
					}
				}
			})
		})
	}
}
