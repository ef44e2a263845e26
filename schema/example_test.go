package schema_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/edgectl/edge/schema"
)

// TestExampleConfig keeps examples/config valid and as the docs describe it.
func TestExampleConfig(t *testing.T) {
	root := filepath.Join("..", "examples")
	cfg, err := schema.LoadDir(filepath.Join(root, "config"))
	if err != nil {
		t.Fatalf("examples/config is invalid:\n%v", err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("examples/config has warnings:\n%v", cfg.Warnings)
	}
	byName := map[string]*schema.Site{}
	for _, s := range cfg.Sites {
		byName[s.Name] = s
	}
	acme, shops, old, secure := byName["acme"], byName["shops"], byName["old-acme"], byName["secure"]
	staff, docs := byName["auth-staff"], byName["static-docs"]
	if acme == nil || shops == nil || old == nil || secure == nil || staff == nil || docs == nil || len(cfg.Sites) != 7 {
		t.Fatalf("sites: got %d (%v); want acme, shops, old-acme, secure, auth-staff, upstreams-canary, static-docs", len(cfg.Sites), byName)
	}
	if ca := staff.ClientAuth; ca == nil || ca.Mode != "optional" || len(ca.CAs) != 1 || len(staff.Routes) != 3 ||
		staff.Routes[1].BasicAuth == nil || staff.Routes[2].ForwardAuth == nil {
		t.Errorf("auth-staff: client_auth %+v, routes %+v; want optional client certificates, basic auth on /admin, forward auth on /app", ca, staff.Routes)
	}
	if c := byName["upstreams-canary"]; c == nil || len(c.Routes) != 2 || !slices.Equal(c.Routes[0].Weights, []int{95, 5}) ||
		c.Routes[0].Sticky == nil || c.Routes[0].Sticky.Cookie != "edge_srv" || !slices.Equal(c.Routes[1].Weights, []int{1, 2}) {
		t.Errorf("upstreams-canary: %+v; want a 95/5 canary with a sticky cookie on / and weights 1/2 on /api", c)
	}
	if r := docs.Routes[0]; r.Static == nil || r.Static.RepoDir != "www/docs" || r.Static.FS == nil {
		t.Errorf("static-docs /: %+v; want www/docs of the repo", r.Static)
	}
	if p := secure.Passthrough; p == nil || len(p.Upstreams) != 1 || p.Upstreams[0] != "127.0.0.1:3443" || !p.ProxyProtocol || secure.Cert.File != "" {
		t.Errorf("secure: passthrough %+v, cert %q; want a passthrough site to 127.0.0.1:3443 with PROXY v2 and no cert", p, secure.Cert.File)
	}
	if !acme.Default || len(acme.Routes) != 2 || len(acme.Routes[0].Upstreams) != 2 {
		t.Errorf("acme: default %v, routes %+v; want the default site with two upstreams on /", acme.Default, acme.Routes)
	}
	if r := acme.Routes[1]; r.Path != "/api" || !r.StripPrefix || r.Timeouts.Response.Minutes() != 2 || r.Timeouts.Connect.Seconds() != 2 {
		t.Errorf("acme /api: got %+v; want strip_prefix, response 2m, connect 2s (repo default)", r)
	}
	if shops.Hosts[1] != "*.shops.example.test" {
		t.Errorf("shops hosts: %v", shops.Hosts)
	}
	if len(old.Routes) != 0 || len(old.Redirects) != 1 || old.Redirects[0].Status != 308 || !old.Redirects[0].KeepPath {
		t.Errorf("old-acme: routes %v redirects %+v; want one 308 redirect keeping the path", old.Routes, old.Redirects)
	}
	if h := acme.Headers.HSTS; h == nil || h.MaxAge.Hours() != 365*24 {
		t.Errorf("acme HSTS: %+v; want on for 365d", h)
	}
	// The committed test keys match the certificates (examples/keys is a local key dir).
	for _, s := range cfg.Sites {
		if s.Passthrough != nil {
			continue // the app holds its key
		}
		key, err := os.ReadFile(filepath.Join(root, "keys", s.Key.Mount, filepath.FromSlash(s.Key.Path), s.Key.Field+".pem"))
		if err != nil {
			t.Errorf("site %s: %v", s.Name, err)
			continue
		}
		if _, err := tls.X509KeyPair(s.Cert.PEM, key); err != nil {
			t.Errorf("site %s: key does not match certificate: %v", s.Name, err)
		}
	}
}
