package sitegen_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
)

func TestWriteRepoValidates(t *testing.T) {
	dir, keys := t.TempDir(), t.TempDir()
	repo, err := sitegen.WriteRepo(dir, 3, sitegen.Options{KeyDir: keys, Upstreams: []string{"http://127.0.0.1:3001", "http://127.0.0.1:3002"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := schema.LoadDir(dir)
	if err != nil {
		t.Fatalf("generated repo is invalid:\n%v", err)
	}
	if got, want := len(cfg.Sites), 3; got != want {
		t.Fatalf("sites: got %d; want %d", got, want)
	}
	s := cfg.Sites[0]
	if s.Name != "site00000" || !s.Default || len(s.Hosts) != 2 || s.Hosts[1] != "*.site00000.example.test" {
		t.Errorf("site 0: got %+v", s)
	}
	if got := s.Routes[0].Upstreams; len(got) != 2 {
		t.Errorf("upstreams: got %v", got)
	}
	// The key is where the local key source looks, mode 0600, and matches the certificate.
	kp := filepath.Join(keys, "secret", "edge", "site00000", "key.pem")
	st, err := os.Stat(kp)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode: got %v; want 0600", st.Mode().Perm())
	}
	kb, _ := os.ReadFile(kp)
	if string(kb) != string(repo.Sites[0].Leaf.KeyPEM) {
		t.Error("key file differs from Leaf.KeyPEM")
	}
	// The chain verifies against the CA for every declared host.
	leaf, err := x509.ParseCertificate(s.Cert.DER[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"site00000.example.test", "x.site00000.example.test"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: repo.CA.Pool()}); err != nil {
			t.Errorf("verify %s: %v", h, err)
		}
	}
}

func TestSiteFileQuotesNames(t *testing.T) {
	got := string(sitegen.SiteFile(sitegen.Site{Name: "acme-corp", Hosts: []string{"acme.test"}, RedirectTo: "https://x.test", Key: schema.KeyRef{Path: "edge/acme", Version: 3}}, "certs/acme-corp.pem"))
	for _, want := range []string{`sites: "acme-corp": {`, `version: 3`, `redirects: [{to: "https://x.test"}]`} {
		if !strings.Contains(got, want) {
			t.Errorf("SiteFile lacks %q:\n%s", want, got)
		}
	}
}
