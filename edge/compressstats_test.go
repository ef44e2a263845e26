package edge

import (
	"net/url"
	"testing"

	"github.com/edgectl/edge/edge/proxy"
	"github.com/edgectl/edge/edge/site"
)

// TestCompressCountersOnlyForCompressingRoutes: building a site's route handlers creates
// compression counters for the site only when a route compresses, so sites that never
// compress hold none and export no series.
func TestCompressCountersOnlyForCompressingRoutes(t *testing.T) {
	m := proxy.NewManager(proxy.Options{})
	defer m.Close()
	cm := newCompressMetrics()
	build := routeHandlers(m, cm, Denials{})
	up, _ := url.Parse("http://127.0.0.1:1")
	plain := &Site{Site: site.Site{Name: "plain", Routes: []site.Route{{Path: "/", Upstreams: []*url.URL{up}}}}}
	zipped := &Site{Site: site.Site{Name: "zipped", Routes: []site.Route{{Path: "/", Upstreams: []*url.URL{up}, Compress: &site.Compress{}}}}}
	for _, s := range []*Site{plain, zipped} {
		if _, err := build(s, &s.Routes[0]); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
	}
	var names []string
	cm.sites.Range(func(k, _ any) bool { names = append(names, k.(string)); return true })
	if len(names) != 1 || names[0] != "zipped" {
		t.Errorf("sites with compression counters = %v; want [zipped]", names)
	}
}
