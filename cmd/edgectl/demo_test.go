package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/schema"
)

// TestDemoConfigValidates loads the demo's config repo, at both revisions, with the
// schema loader, and checks the key directory's modes.
func TestDemoConfigValidates(t *testing.T) {
	dir := t.TempDir()
	repo, keys := filepath.Join(dir, "config"), filepath.Join(dir, "keys")
	d := demoSiteData{App1: "http://127.0.0.1:3001", App2: "http://127.0.0.1:3002", PublicBase: "https://acme.example.test:8443", Revision: 1,
		TLSApp: "127.0.0.1:3443", TLSAppDir: filepath.Join(dir, "tls-app")}
	if err := writeDemoConfig(repo, keys, filepath.Join(dir, "ca.pem"), d); err != nil {
		t.Fatal(err)
	}
	for _, rev := range []int{1, 2} {
		d.Revision = rev
		if _, err := writeDemoSite(repo, "acme", d); err != nil {
			t.Fatal(err)
		}
		cfg, err := schema.NewLoader(schema.LoaderOptions{}).Load(os.DirFS(repo))
		if err != nil {
			t.Fatalf("revision %d: %v", rev, err)
		}
		if len(cfg.Sites) != len(demoSites) {
			t.Errorf("revision %d: %d sites; want %d", rev, len(cfg.Sites), len(demoSites))
		}
		for _, s := range cfg.Sites {
			if (s.Name == "secure") != (s.Passthrough != nil) {
				t.Errorf("revision %d: site %s passthrough %+v; want only secure passed through", rev, s.Name, s.Passthrough)
			}
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls-app", "key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("TLS app key: %v; want a 0600 file", err)
	}
	for _, s := range demoSites {
		if s.passthrough {
			if _, err := os.Stat(filepath.Join(keys, "secret", "edge", s.name)); err == nil {
				t.Errorf("passthrough site %s has a key in the edge's key directory", s.name)
			}
			continue
		}
		fi, err := os.Stat(filepath.Join(keys, "secret", "edge", s.name, "key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s key mode %v; want 0600", s.name, fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(keys); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("key dir: %v %v; want mode 0700", fi.Mode().Perm(), err)
	}
}

// TestHelloHandler checks the Go sample app answers like hello.js.
func TestHelloHandler(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   []string
	}{
		{"plain", nil, []string{"hello from app-9 (go, port 3009)", "you asked for GET example.test/x?y=1"}},
		{"forwarded", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"10.0.0.1"}},
			[]string{"x-forwarded-proto: https", "x-forwarded-for: 10.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://example.test/x?y=1", nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			w := httptest.NewRecorder()
			helloHandler("app-9", 3009).ServeHTTP(w, r)
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("body %q; want %q in it", w.Body.String(), s)
				}
			}
		})
	}
}

// TestDemoWorkDir refuses a non-empty --dir and creates a missing one.
func TestDemoWorkDir(t *testing.T) {
	base := t.TempDir()
	if _, created, err := demoWorkDir(filepath.Join(base, "new")); err != nil || !created {
		t.Errorf("missing dir: created=%v err=%v; want true, nil", created, err)
	}
	if err := os.WriteFile(filepath.Join(base, "new", "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := demoWorkDir(filepath.Join(base, "new")); err == nil {
		t.Error("non-empty dir: err = nil; want an error")
	}
}
