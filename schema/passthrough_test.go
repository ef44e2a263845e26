package schema_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/schema"
)

// TestPassthroughBuild: a passthrough declaration builds into site.Passthrough with every
// option, no certificate, no key and no routes; its neighbour stays a terminated site.
func TestPassthroughBuild(t *testing.T) {
	cfg, _ := loadValidCase(t, "passthrough")
	byName := map[string]*schema.Site{}
	for _, s := range cfg.Sites {
		byName[s.Name] = s
	}
	pt := byName["tls-app"]
	if pt == nil || pt.Passthrough == nil {
		t.Fatalf("site tls-app: %+v; want a passthrough site", pt)
	}
	want := site.Passthrough{
		Upstreams:      []string{"127.0.0.1:8443", "[::1]:8443", "app.internal:443"},
		Balance:        site.LeastConn,
		ProxyProtocol:  true,
		ConnectTimeout: 2 * time.Second,
		IdleTimeout:    30 * time.Minute,
		HealthCheck:    &site.HealthCheck{Interval: 5 * time.Second, Timeout: time.Second},
	}
	got := *pt.Passthrough
	if !slices.Equal(got.Upstreams, want.Upstreams) || got.Balance != want.Balance || got.ProxyProtocol != want.ProxyProtocol ||
		got.ConnectTimeout != want.ConnectTimeout || got.IdleTimeout != want.IdleTimeout || got.HealthCheck == nil || *got.HealthCheck != *want.HealthCheck {
		t.Errorf("passthrough = %+v (health %+v); want %+v", got, got.HealthCheck, want)
	}
	if !slices.Equal(pt.Hosts, []string{"b.example", "*.b.example"}) {
		t.Errorf("hosts = %v", pt.Hosts)
	}
	if pt.Cert.File != "" || pt.Cert.PEM != nil || pt.Key != (schema.KeyRef{}) || pt.Routes != nil || pt.Redirects != nil || pt.Headers.HSTS != nil || pt.Default {
		t.Errorf("passthrough site carries terminated-site fields: cert %q key %+v routes %v headers %+v", pt.Cert.File, pt.Key, pt.Routes, pt.Headers)
	}
	if pt.Digest == "" {
		t.Error("passthrough site has no digest")
	}
	if m := byName["minimal-pt"]; m == nil || m.Passthrough == nil || m.Passthrough.Balance != site.RoundRobin || m.Passthrough.HealthCheck != nil || m.Passthrough.ProxyProtocol {
		t.Errorf("minimal-pt = %+v; want a passthrough site with zero options", m)
	}
	if a := byName["a"]; a == nil || a.Passthrough != nil || a.Cert.Leaf == nil {
		t.Errorf("site a = %+v; want a terminated site with its certificate", a)
	}
}

// TestPassthroughDiff: plans show passthrough sites added, removed and changed, with
// their upstreams and proxy protocol.
func TestPassthroughDiff(t *testing.T) {
	dir := materialize(t, goldenCaseNamed(t, "valid", "passthrough"))
	load := func() *schema.Config { return loadRepo(t, dir) }
	base := load()
	p := schema.Diff(nil, base)
	var added string
	for _, s := range p.Added {
		if s.Name == "tls-app" {
			added = s.Passthrough + "|" + s.Cert
		}
	}
	if want := "→ 127.0.0.1:8443, [::1]:8443, app.internal:443 (least_conn, proxy protocol v2, connect 2s, idle 30m0s, health_check every 5s)|"; added != want {
		t.Errorf("added tls-app: %q; want %q", added, want)
	}
	src := `package edge

sites: "tls-app": {
	hosts: ["b.example", "*.b.example"]
	passthrough: upstreams: ["127.0.0.1:8443", "127.0.0.1:9443"]
}
`
	if err := os.WriteFile(filepath.Join(dir, "sites", "tls-app.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "sites", "minimal-pt.cue"))
	p = schema.Diff(base, load())
	if len(p.Removed) != 1 || p.Removed[0].Name != "minimal-pt" || !strings.Contains(p.Removed[0].Passthrough, "127.0.0.1:9443") {
		t.Errorf("removed = %+v; want minimal-pt with its upstream", p.Removed)
	}
	if len(p.Changed) != 1 || len(p.Changed[0].Changes) != 1 || p.Changed[0].Changes[0].What != "passthrough" {
		t.Fatalf("changed = %+v; want one passthrough change of tls-app", p.Changed)
	}
	d := p.Changed[0].Changes[0].Detail
	for _, w := range []string{"+127.0.0.1:9443", "-[::1]:8443", "-app.internal:443", "proxy protocol v2", "no proxy protocol", "round_robin"} {
		if !strings.Contains(d, w) {
			t.Errorf("change %q does not mention %q", d, w)
		}
	}
}
