package proxy

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	u := &url.URL{Scheme: "http", Host: "127.0.0.1:3000"}
	c, err := Config{Path: "/", Upstreams: []*url.URL{u}, HealthCheck: &HealthCheck{}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Balance", c.Balance, RoundRobin},
		{"ConnectTimeout", c.ConnectTimeout, 5 * time.Second},
		{"ResponseTimeout", c.ResponseTimeout, 60 * time.Second},
		{"IdleTimeout", c.IdleTimeout, 90 * time.Second},
		{"HealthCheck.Path", c.HealthCheck.Path, "/"},
		{"HealthCheck.Interval", c.HealthCheck.Interval, 10 * time.Second},
		{"HealthCheck.Timeout", c.HealthCheck.Timeout, 2 * time.Second},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v; want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ok := &url.URL{Scheme: "http", Host: "127.0.0.1:3000"}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no upstreams", Config{Name: "shop /api"}, `route "shop /api": no upstreams`},
		{"bad balance", Config{Path: "/x", Upstreams: []*url.URL{ok}, Balance: "random"}, `route "/x": unknown balance "random"`},
		{"bad scheme", Config{Upstreams: []*url.URL{{Scheme: "ftp", Host: "h:1"}}}, `upstream 0: scheme "ftp"`},
		{"no host", Config{Upstreams: []*url.URL{{Scheme: "http"}}}, `upstream 0: no host`},
		{"nil upstream", Config{Upstreams: []*url.URL{ok, nil}}, `upstream 1 is nil`},
		{"negative", Config{Upstreams: []*url.URL{ok}, Retries: -1}, `negative`},
		{"strip without path", Config{Upstreams: []*url.URL{ok}, StripPrefix: true}, `strip_prefix`},
		{"check path", Config{Upstreams: []*url.URL{ok}, HealthCheck: &HealthCheck{Path: "healthz"}}, `health check path "healthz"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.withDefaults()
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
	base := Config{Path: "/", Upstreams: []*url.URL{a, b}}
	key := func(c Config) string {
		c, err := c.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		return c.key()
	}
	same := base
	same.ConnectTimeout = DefaultConnectTimeout // explicit default == zero value
	if key(base) != key(same) {
		t.Errorf("explicit default changed the key")
	}
	variants := map[string]func(*Config){
		"order":   func(c *Config) { c.Upstreams = []*url.URL{b, a} },
		"balance": func(c *Config) { c.Balance = LeastConn },
		"strip":   func(c *Config) { c.Path = "/a"; c.StripPrefix = true },
		"retries": func(c *Config) { c.Retries = 2 },
		"timeout": func(c *Config) { c.ResponseTimeout = time.Second },
		"check":   func(c *Config) { c.HealthCheck = &HealthCheck{Path: "/h"} },
		"name":    func(c *Config) { c.Name = "x" },
	}
	for name, f := range variants {
		c := base
		f(&c)
		if key(c) == key(base) {
			t.Errorf("%s: key unchanged", name)
		}
	}
}
