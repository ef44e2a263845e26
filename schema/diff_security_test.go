package schema

import (
	"net/url"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

// withGuards adds guards for the duration of a test: the generic hook the access and auth
// fields use (here with route fields of this package's own: sticky and health checks).
func withGuards(t *testing.T, gs ...guard) {
	saved := guards
	guards = append(append([]guard(nil), guards...), gs...)
	t.Cleanup(func() { guards = saved })
}

func secSite(name, digest string, hsts bool, routes ...site.Route) *Site {
	s := &Site{Site: site.Site{Name: name, Hosts: []string{name + ".example"}, Routes: routes}, File: "sites/" + name + ".cue", Digest: digest}
	if hsts {
		s.Headers.HSTS = &site.HSTS{MaxAge: site.DefaultHSTSMaxAge}
	}
	return s
}

func secRoute(path string, sticky string) site.Route {
	r := site.Route{Path: path, Upstreams: []*url.URL{{Scheme: "http", Host: "127.0.0.1:3001"}}}
	if sticky != "" {
		r.Sticky = &site.Sticky{Cookie: sticky}
	}
	return r
}

func messages(p *Plan) string {
	var b strings.Builder
	for _, s := range p.Security {
		b.WriteString(s.Kind + " " + s.What + " [" + s.Route + "] " + s.Message + "\n")
	}
	return b.String()
}

func TestSecurityChanges(t *testing.T) {
	withGuards(t, routeGuard("sticky", "sticky cookie", "clients no longer pinned", func(r *site.Route) any { return r.Sticky }))
	cfg := func(sites ...*Site) *Config { return &Config{Sites: sites} }
	for _, tc := range []struct {
		name       string
		base, head *Config
		want       string
	}{
		{"unchanged", cfg(secSite("a", "1", true, secRoute("/", "s"))), cfg(secSite("a", "1", true, secRoute("/", "s"))), ""},
		{"only upstreams changed", cfg(secSite("a", "1", true, secRoute("/", "s"))), cfg(secSite("a", "2", true, secRoute("/", "s"), secRoute("/x", "s"))), ""},
		{"site guard removed", cfg(secSite("a", "1", true, secRoute("/", ""))), cfg(secSite("a", "2", false, secRoute("/", ""))),
			"removed headers.hsts [] site a: HSTS removed (browsers are no longer told to insist on HTTPS)\n"},
		{"site guard added is not a weakening", cfg(secSite("a", "1", false, secRoute("/", ""))), cfg(secSite("a", "2", true, secRoute("/", ""))), ""},
		{"route guard removed", cfg(secSite("a", "1", false, secRoute("/", ""), secRoute("/admin", "s"))), cfg(secSite("a", "2", false, secRoute("/", ""), secRoute("/admin", ""))),
			"removed sticky [/admin] site a: route /admin: sticky cookie removed (clients no longer pinned)\n"},
		{"route guard changed", cfg(secSite("a", "1", false, secRoute("/", "s"))), cfg(secSite("a", "2", false, secRoute("/", "t"))),
			"changed sticky [/] site a: route /: sticky cookie changed; review it\n"},
		{"route with the guard removed: its requests fall to one without", cfg(secSite("a", "1", false, secRoute("/", ""), secRoute("/admin", "s"))), cfg(secSite("a", "2", false, secRoute("/", ""))),
			"removed sticky [/admin] site a: requests under /admin went to route /admin, with sticky cookie, and now go to route /, without (clients no longer pinned)\n"},
		{"route added under a guarded one, without its guard", cfg(secSite("a", "1", false, secRoute("/admin", "s"))), cfg(secSite("a", "2", false, secRoute("/admin", "s"), secRoute("/admin/open", ""))),
			"removed sticky [/admin/open] site a: requests under /admin/open went to route /admin, with sticky cookie, and now go to route /admin/open, without (clients no longer pinned)\n"},
		{"route added under a guarded one, with the same guard", cfg(secSite("a", "1", false, secRoute("/admin", "s"))), cfg(secSite("a", "2", false, secRoute("/admin", "s"), secRoute("/admin/x", "s"))), ""},
		{"route removed, nothing serves its paths", cfg(secSite("a", "1", false, secRoute("/admin", "s"), secRoute("/b", ""))), cfg(secSite("a", "2", false, secRoute("/b", ""))), ""},
		{"site removed", cfg(secSite("a", "1", true, secRoute("/", "s"))), cfg(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := messages(Diff(tc.base, tc.head)); got != tc.want {
				t.Errorf("security changes:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestSecurityHostMoved: a host moved from a protected site to an open one is a
// weakening, though neither site changed its own protection.
func TestSecurityHostMoved(t *testing.T) {
	withGuards(t, siteGuard("default", "default flag", "test guard", func(s *site.Site) any { return s.Default }))
	a := secSite("a", "1", true, secRoute("/", ""))
	a.Hosts = append(a.Hosts, "shop.example")
	a.Default = true
	b := secSite("b", "1", false, secRoute("/", ""))
	a2 := secSite("a", "1", true, secRoute("/", ""))
	a2.Default = true
	b2 := secSite("b", "2", false, secRoute("/", ""))
	b2.Hosts = append(b2.Hosts, "shop.example")
	got := messages(Diff(&Config{Sites: []*Site{a, b}}, &Config{Sites: []*Site{a2, b2}}))
	for _, want := range []string{
		"removed headers.hsts [] host shop.example (moved from site a to site b): HSTS removed",
		"removed default [] host shop.example (moved from site a to site b): default flag removed (test guard)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("security changes lack %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "\n") != 2 {
		t.Errorf("want exactly 2 security changes:\n%s", got)
	}
}

func TestPresent(t *testing.T) {
	var nilPtr *site.Sticky
	for _, tc := range []struct {
		v    any
		want bool
	}{
		{nil, false}, {nilPtr, false}, {&site.Sticky{}, true}, {[]string(nil), false}, {[]string{}, false},
		{[]string{"10.0.0.0/8"}, true}, {site.Sticky{}, false}, {site.Sticky{Cookie: "x"}, true}, {false, false}, {true, true}, {"", false},
	} {
		if got := present(tc.v); got != tc.want {
			t.Errorf("present(%#v) = %v; want %v", tc.v, got, tc.want)
		}
	}
}

// TestRouteWeightsInPlan: a route's weights show when it is added or removed, and their
// changes (an upstream added with a weight too) when it changes.
func TestRouteWeightsInPlan(t *testing.T) {
	a, b, c := &url.URL{Scheme: "http", Host: "127.0.0.1:3001"}, &url.URL{Scheme: "http", Host: "127.0.0.1:3002"}, &url.URL{Scheme: "http", Host: "127.0.0.1:3003"}
	base := secSite("w", "1", false, site.Route{Path: "/", Upstreams: []*url.URL{a, b}, Weights: []int{95, 5}})
	head := secSite("w", "2", false, site.Route{Path: "/", Upstreams: []*url.URL{a, b, c}, Weights: []int{90, 5, 5}},
		site.Route{Path: "/new", Upstreams: []*url.URL{a, b}, Weights: []int{1, 3}})
	p := Diff(&Config{Sites: []*Site{base}}, &Config{Sites: []*Site{head}})
	var got []string
	for _, ch := range p.Changed[0].Changes {
		got = append(got, ch.What+": "+ch.Detail)
	}
	want := []string{
		"route /: upstreams +http://127.0.0.1:3003",
		"route /: weights http://127.0.0.1:3001 95 → 90, http://127.0.0.1:3003 5 (new)",
		"route /new: added → http://127.0.0.1:3001, http://127.0.0.1:3002 (weights 1/3)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p = Diff(&Config{Sites: []*Site{head}}, &Config{Sites: []*Site{base}})
	for _, ch := range p.Changed[0].Changes {
		if ch.What == "route /new" && ch.Detail != "removed (was → http://127.0.0.1:3001, http://127.0.0.1:3002 (weights 1/3))" {
			t.Errorf("removed route: %q", ch.Detail)
		}
	}
}
