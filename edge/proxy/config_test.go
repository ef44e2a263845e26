package proxy

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

func TestConfigDefaults(t *testing.T) {
	u := &url.URL{Scheme: "http", Host: "127.0.0.1:3000"}
	r := &site.Route{Path: "/", Upstreams: []*url.URL{u}, HealthCheck: &site.HealthCheck{}}
	c, err := newConfig("", r)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Balance", c.Balance, site.RoundRobin},
		{"Timeouts.Connect", c.Timeouts.Connect, 5 * time.Second},
		{"Timeouts.Response", c.Timeouts.Response, 60 * time.Second},
		{"Timeouts.Idle", c.Timeouts.Idle, 90 * time.Second},
		{"Timeouts.Body", c.Timeouts.Body, 60 * time.Second},
		{"HealthCheck.Path", c.HealthCheck.Path, "/"},
		{"HealthCheck.Interval", c.HealthCheck.Interval, 10 * time.Second},
		{"HealthCheck.Timeout", c.HealthCheck.Timeout, 2 * time.Second},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v; want %v", ch.name, ch.got, ch.want)
		}
	}
	if r.Balance != "" || r.Timeouts != (site.Timeouts{}) || *r.HealthCheck != (site.HealthCheck{}) {
		t.Errorf("the route given was changed: %+v, health check %+v", r, r.HealthCheck)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := &url.URL{Scheme: "http", Host: "127.0.0.1:3000"}
	tests := []struct {
		name  string
		label string
		route site.Route
		want  string
	}{
		{"no upstreams", "shop /api", site.Route{}, `route "shop /api": no upstreams`},
		{"bad balance", "", site.Route{Path: "/x", Upstreams: []*url.URL{ok}, Balance: "random"}, `route "/x": unknown balance "random"`},
		{"bad scheme", "", site.Route{Upstreams: []*url.URL{{Scheme: "ftp", Host: "h:1"}}}, `upstream 0: scheme "ftp"`},
		{"no host", "", site.Route{Upstreams: []*url.URL{{Scheme: "http"}}}, `upstream 0: no host`},
		{"nil upstream", "", site.Route{Upstreams: []*url.URL{ok, nil}}, `upstream 1 is nil`},
		{"negative", "", site.Route{Upstreams: []*url.URL{ok}, Retries: -1}, `negative`},
		{"negative timeout", "", site.Route{Upstreams: []*url.URL{ok}, Timeouts: site.Timeouts{Body: -1}}, `negative`},
		{"strip without path", "", site.Route{Upstreams: []*url.URL{ok}, StripPrefix: true}, `strip_prefix`},
		{"check path", "", site.Route{Upstreams: []*url.URL{ok}, HealthCheck: &site.HealthCheck{Path: "healthz"}}, `health check path "healthz"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newConfig(tt.label, &tt.route)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "proxy: ") {
				t.Errorf("err = %q; want prefix \"proxy: \"", err)
			}
		})
	}
}

func TestConfigKey(t *testing.T) {
	a := &url.URL{Scheme: "http", Host: "127.0.0.1:3000"}
	b := &url.URL{Scheme: "http", Host: "127.0.0.1:3001"}
	base := site.Route{Path: "/", Upstreams: []*url.URL{a, b}}
	key := func(name string, r site.Route) string {
		c, err := newConfig(name, &r)
		if err != nil {
			t.Fatal(err)
		}
		return c.key()
	}
	same := base
	same.Timeouts.Connect = site.DefaultConnectTimeout // explicit default == zero value
	if key("", base) != key("", same) {
		t.Errorf("explicit default changed the key")
	}
	variants := map[string]func(*site.Route){
		"order":   func(r *site.Route) { r.Upstreams = []*url.URL{b, a} },
		"balance": func(r *site.Route) { r.Balance = site.LeastConn },
		"strip":   func(r *site.Route) { r.Path = "/a"; r.StripPrefix = true },
		"retries": func(r *site.Route) { r.Retries = 2 },
		"timeout": func(r *site.Route) { r.Timeouts.Response = time.Second },
		"check":   func(r *site.Route) { r.HealthCheck = &site.HealthCheck{Path: "/h"} },
	}
	for name, f := range variants {
		r := base
		f(&r)
		if key("", r) == key("", base) {
			t.Errorf("%s: key unchanged", name)
		}
	}
	if key("x", base) == key("", base) {
		t.Errorf("name: key unchanged")
	}
}
