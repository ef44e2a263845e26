package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
)

// The demo's config repo mirrors examples/config: acme (two upstreams, an /api route, a
// www redirect, response headers; the default site), shops (a wildcard for every tenant),
// old-acme (a retired name that only redirects) and secure (a passthrough site: the TLS
// sample app terminates TLS with its own certificate). Certificates are issued at run time by
// a fresh demo CA, and upstreams point at the sample apps' run-time ports.

// Host names the demo serves and prints.
const (
	demoAcmeHost = "acme.example.test"
	demoShopHost = "demo.shops.example.test" // any name under *.shops.example.test
	demoOldHost  = "old-acme.example.test"
	// demoSecureHost is the passthrough site's name: the edge passes its connections, not
	// terminated, to the TLS sample app, whose own certificate the client sees.
	demoSecureHost = "secure.example.test"
	// demoMisdirectedHost is covered by the shops certificate but not by acme's: sent on
	// a connection made for acme it gets 421.
	demoMisdirectedHost = "x.shops.example.test"
)

// demoEdgeCue is the repo-wide edge.cue, as in examples/config.
const demoEdgeCue = `// Fleet-wide defaults and policy for every site of this repo.
package edge

defaults: {
	hsts: {max_age: "365d", include_subdomains: false}
	timeouts: {connect: "2s", response: "30s", idle: "90s"}
}

policy: {
	// The demo's apps run on this machine.
	allowed_upstreams: ["127.0.0.0/8", "::1", "localhost"]
	cert_warn_within:  "30d"
	cert_error_within: "7d"
}
`

// demoSiteSpec is one demo site: its hosts and its declaration minus the cert and key
// lines (a passthrough site has none).
type demoSiteSpec struct {
	name        string
	hosts       []string
	passthrough bool
	body        func(d demoSiteData) string
}

// demoSiteData are the run-time values the declarations depend on.
type demoSiteData struct {
	App1, App2 string // upstream URLs
	PublicBase string // "https://acme.example.test:8443": where redirects go
	Revision   int    // the value of acme's X-Demo-Revision header
	// TLSApp is the passthrough site's upstream, "127.0.0.1:port"; empty leaves the site
	// out. TLSAppDir is where its certificate and key (cert.pem, key.pem) are written.
	TLSApp, TLSAppDir string
}

// sites are the demo sites d declares: all, or all but the passthrough site.
func (d demoSiteData) sites() []demoSiteSpec {
	var out []demoSiteSpec
	for _, s := range demoSites {
		if !s.passthrough || d.TLSApp != "" {
			out = append(out, s)
		}
	}
	return out
}

var demoSites = []demoSiteSpec{
	{name: "acme", hosts: []string{demoAcmeHost, "www." + demoAcmeHost}, body: func(d demoSiteData) string {
		return fmt.Sprintf(`	// acme answers TLS handshakes for names no site declares.
	default: true
	routes: {
		// two upstreams, the least busy one gets the request
		"/": {
			upstreams: [%q, %q]
			balance: "least_conn"
			retries: 1
			health_check: {path: "/", interval: "5s", timeout: "1s"}
		}
		// /api/x reaches app-2 as /x
		"/api": {
			upstreams: [%q]
			strip_prefix: true
		}
		// files of this repo, served by the edge itself
		"/docs": static: repo_dir: "www/docs"
	}
	redirects: [{hosts: ["www.%s"], to: %q, status: 301, keep_path: true}]
	// /blog/2024/hello reaches the app as /posts/hello?year=2024 (inside the edge, no redirect)
	rewrites: [{from: "/blog/{year}/{slug}", to: "/posts/{slug}?year={year}"}]
	headers: {
		set: {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "X-Demo-Revision": "%d"}
		remove: ["X-Powered-By"]
	}
`, d.App1, d.App2, d.App2, demoAcmeHost, d.PublicBase, d.Revision)
	}},
	{name: "shops", hosts: []string{"shops.example.test", "*.shops.example.test"}, body: func(d demoSiteData) string {
		return fmt.Sprintf("\t// one wildcard site for every tenant's subdomain\n\troutes: \"/\": upstreams: [%q]\n", d.App1)
	}},
	{name: "old-acme", hosts: []string{demoOldHost}, body: func(d demoSiteData) string {
		return fmt.Sprintf("\t// a retired name that only redirects\n\tredirects: [{to: %q, keep_path: true}]\n", d.PublicBase)
	}},
	{name: "secure", hosts: []string{demoSecureHost}, passthrough: true, body: func(d demoSiteData) string {
		return fmt.Sprintf("\t// TLS passed through, not terminated: the app holds its own certificate and key\n\tpassthrough: upstreams: [%q]\n", d.TLSApp)
	}},
}

// demoSiteFile renders the declaration of s.
func demoSiteFile(s demoSiteSpec, d demoSiteData) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "// %s: written by `edgectl demo`; edit, commit, and the agent serves it.\npackage edge\n\n", s.name)
	q := make([]string, len(s.hosts))
	for i, h := range s.hosts {
		q[i] = fmt.Sprintf("%q", h)
	}
	fmt.Fprintf(&b, "sites: %q: {\n\thosts: [%s]\n", s.name, strings.Join(q, ", "))
	if !s.passthrough {
		fmt.Fprintf(&b, "\tcert: \"certs/%s.pem\"\n\tkey: path: \"edge/%s\"\n", s.name, s.name)
	}
	b.WriteString(s.body(d))
	b.WriteString("}\n")
	return []byte(b.String())
}

// writeDemoConfig writes the config repo's files to repoDir (edge.cue, sites/, certs/),
// the keys to keyDir (0700 directories, 0600 files) and the CA certificate to caFile.
func writeDemoConfig(repoDir, keyDir, caFile string, d demoSiteData) error {
	ca, err := testca.New()
	if err != nil {
		return fmt.Errorf("demo CA: %w", err)
	}
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		return fmt.Errorf("demo CA: %w", err)
	}
	for _, sub := range []string{"sites", "certs"} {
		if err := os.MkdirAll(filepath.Join(repoDir, sub), 0o755); err != nil {
			return fmt.Errorf("demo repo: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(repoDir, "edge.cue"), []byte(demoEdgeCue), 0o644); err != nil {
		return fmt.Errorf("demo repo: %w", err)
	}
	if err := writeDemoStatic(repoDir); err != nil {
		return err
	}
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return fmt.Errorf("demo keys: %w", err)
	}
	for _, s := range d.sites() {
		leaf, err := ca.Issue(s.hosts, testca.ECDSA, time.Time{})
		if err != nil {
			return fmt.Errorf("demo site %s: certificate: %w", s.name, err)
		}
		if s.passthrough {
			if err := writeDemoTLSAppFiles(d.TLSAppDir, leaf); err != nil {
				return fmt.Errorf("demo site %s: %w", s.name, err)
			}
			if _, err := writeDemoSite(repoDir, s.name, d); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(filepath.Join(repoDir, "certs", s.name+".pem"), leaf.ChainPEM, 0o644); err != nil {
			return fmt.Errorf("demo site %s: %w", s.name, err)
		}
		if err := sitegen.WriteKey(keyDir, schema.KeyRef{Mount: "secret", Path: "edge/" + s.name, Field: "key"}, leaf.KeyPEM); err != nil {
			return fmt.Errorf("demo site %s: key: %w", s.name, err)
		}
		if _, err := writeDemoSite(repoDir, s.name, d); err != nil {
			return err
		}
	}
	return nil
}

// writeDemoSite (re)writes the declaration of the site named name.
func writeDemoSite(repoDir, name string, d demoSiteData) (string, error) {
	for _, s := range demoSites {
		if s.name == name {
			rel := filepath.Join("sites", name+".cue")
			if err := os.WriteFile(filepath.Join(repoDir, rel), demoSiteFile(s, d), 0o644); err != nil {
				return "", fmt.Errorf("demo site %s: %w", name, err)
			}
			return rel, nil
		}
	}
	return "", fmt.Errorf("demo site %s: unknown", name)
}

// writeDemoTLSAppFiles writes the TLS sample app's certificate chain and key (0600) into
// dir: the app's own, which the edge never holds.
func writeDemoTLSAppFiles(dir string, leaf *testca.Leaf) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("TLS app files: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), leaf.ChainPEM, 0o644); err != nil {
		return fmt.Errorf("TLS app files: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), leaf.KeyPEM, 0o600); err != nil {
		return fmt.Errorf("TLS app files: %w", err)
	}
	return nil
}
