// Package sitegen generates config repos for tests, benchmarks and the demo: site
// declarations, their certificates issued by a private CA (tests/testca), and optionally the
// private keys in a local key directory.
//
// Everything it makes is for testing only. Typical use:
//
//	repo, err := sitegen.WriteRepo(dir, 100, sitegen.Options{KeyDir: keyDir})
//	// dir now holds edge.cue, sites/*.cue and certs/*.pem; keyDir the keys;
//	// repo.CA.Pool() verifies the served certificates.
package sitegen

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/tests/testca"
)

// Site describes one generated site.
type Site struct {
	// Name is the site's name and file base name (sites/<Name>.cue). Required.
	Name string
	// Hosts are the declared host names; the certificate covers exactly these. Required.
	Hosts []string
	// Upstreams of the "/" route. Empty means a redirect-only site (RedirectTo required).
	Upstreams []string
	// RedirectTo makes the site answer every request with a permanent redirect to this URL
	// (request path kept). Empty means no redirect.
	RedirectTo string
	// Default marks the site that answers unknown SNI.
	Default bool
	// KeyType of the certificate; zero means ECDSA.
	KeyType testca.KeyType
	// NotAfter of the certificate; zero means DefaultValidity from now.
	NotAfter time.Time
	// Key is where the site's private key lives. Zero fields mean mount "secret", path
	// "edge/<Name>", field "key".
	Key schema.KeyRef
}

// Generated is what WriteSite wrote for one site.
type Generated struct {
	Site
	// File is the declaration path relative to the repo root: "sites/<Name>.cue".
	File string
	// CertFile is the certificate path relative to the repo root: "certs/<Name>.pem".
	CertFile string
	// Leaf is the issued certificate and its private key (Leaf.KeyPEM is secret).
	Leaf *testca.Leaf
}

// Options configure WriteRepo and WriteSite.
type Options struct {
	// CA issues the certificates. Nil means a new CA is made (returned in Repo.CA).
	CA *testca.CA
	// Domain is the parent domain of generated host names. Zero means "example.test".
	Domain string
	// Upstreams of every generated site's "/" route. Empty means
	// ["http://127.0.0.1:3001"].
	Upstreams []string
	// KeyType of generated certificates; zero means ECDSA.
	KeyType testca.KeyType
	// NotAfter of generated certificates; zero means DefaultValidity from now.
	NotAfter time.Time
	// KeyDir, when set, receives every private key as <KeyDir>/<mount>/<path>/<field>.pem
	// (mode 0600), the layout the local key-directory KeySource reads. Empty writes none.
	KeyDir string
	// RepoFile is the content of edge.cue at the repo root. Empty writes none.
	RepoFile string
}

// Repo is a generated config repo.
type Repo struct {
	// Dir is the repo's root directory.
	Dir string
	// CA issued every certificate.
	CA *testca.CA
	// Sites are the generated sites in name order.
	Sites []*Generated
}

// SiteName is the name WriteRepo gives to its i-th site (0-based): "site00000", ...
func SiteName(i int) string { return fmt.Sprintf("site%05d", i) }

// WriteRepo writes a config repo of n sites to dir (created if needed). Site i is named
// SiteName(i) and declares "<name>.<Domain>" and "*.<name>.<Domain>"; site 0 is the default
// site. The repo validates with schema.Load.
func WriteRepo(dir string, n int, opts Options) (*Repo, error) {
	if opts.CA == nil {
		ca, err := testca.New()
		if err != nil {
			return nil, err
		}
		opts.CA = ca
	}
	if opts.Domain == "" {
		opts.Domain = "example.test"
	}
	if len(opts.Upstreams) == 0 {
		opts.Upstreams = []string{"http://127.0.0.1:3001"}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sitegen: %w", err)
	}
	if opts.RepoFile != "" {
		if err := os.WriteFile(filepath.Join(dir, "edge.cue"), []byte(opts.RepoFile), 0o644); err != nil {
			return nil, fmt.Errorf("sitegen: %w", err)
		}
	}
	repo := &Repo{Dir: dir, CA: opts.CA}
	for i := 0; i < n; i++ {
		name := SiteName(i)
		host := name + "." + opts.Domain
		g, err := WriteSite(dir, Site{
			Name:      name,
			Hosts:     []string{host, "*." + host},
			Upstreams: opts.Upstreams,
			Default:   i == 0,
			KeyType:   opts.KeyType,
			NotAfter:  opts.NotAfter,
		}, opts)
		if err != nil {
			return nil, err
		}
		repo.Sites = append(repo.Sites, g)
	}
	return repo, nil
}

// WriteSite issues a certificate for s with opts.CA (required) and writes
// sites/<Name>.cue and certs/<Name>.pem below dir, and the key below opts.KeyDir if set.
// Only opts.CA and opts.KeyDir are used. Writing an existing site again replaces it.
func WriteSite(dir string, s Site, opts Options) (*Generated, error) {
	if opts.CA == nil {
		return nil, fmt.Errorf("sitegen: site %s: Options.CA is required", s.Name)
	}
	if s.Name == "" || len(s.Hosts) == 0 {
		return nil, fmt.Errorf("sitegen: site %q: a name and at least one host are required", s.Name)
	}
	if s.Key.Mount == "" {
		s.Key.Mount = "secret"
	}
	if s.Key.Path == "" {
		s.Key.Path = "edge/" + s.Name
	}
	if s.Key.Field == "" {
		s.Key.Field = "key"
	}
	leaf, err := opts.CA.Issue(s.Hosts, s.KeyType, s.NotAfter)
	if err != nil {
		return nil, fmt.Errorf("sitegen: site %s: %w", s.Name, err)
	}
	g := &Generated{Site: s, File: "sites/" + s.Name + ".cue", CertFile: "certs/" + s.Name + ".pem", Leaf: leaf}
	for _, d := range []string{"sites", "certs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("sitegen: site %s: %w", s.Name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(g.CertFile)), leaf.ChainPEM, 0o644); err != nil {
		return nil, fmt.Errorf("sitegen: site %s: %w", s.Name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(g.File)), SiteFile(s, g.CertFile), 0o644); err != nil {
		return nil, fmt.Errorf("sitegen: site %s: %w", s.Name, err)
	}
	if opts.KeyDir != "" {
		if err := WriteKey(opts.KeyDir, s.Key, leaf.KeyPEM); err != nil {
			return nil, fmt.Errorf("sitegen: site %s: %w", s.Name, err)
		}
	}
	return g, nil
}

// WriteKey writes keyPEM to <keyDir>/<mount>/<path>/<field>.pem with mode 0600, creating
// directories with mode 0700.
func WriteKey(keyDir string, ref schema.KeyRef, keyPEM []byte) error {
	p := filepath.Join(keyDir, filepath.FromSlash(path.Join(ref.Mount, ref.Path, ref.Field+".pem")))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("key %s/%s#%s: %w", ref.Mount, ref.Path, ref.Field, err)
	}
	if err := os.WriteFile(p, keyPEM, 0o600); err != nil {
		return fmt.Errorf("key %s/%s#%s: %w", ref.Mount, ref.Path, ref.Field, err)
	}
	return os.Chmod(p, 0o600)
}

// SiteFile renders the declaration of s with its certificate at certFile.
func SiteFile(s Site, certFile string) []byte {
	var b strings.Builder
	b.WriteString("package edge\n\n")
	fmt.Fprintf(&b, "sites: %s: {\n", schema.CUELabel(s.Name))
	fmt.Fprintf(&b, "\thosts: %s\n", list(s.Hosts))
	if s.Default {
		b.WriteString("\tdefault: true\n")
	}
	fmt.Fprintf(&b, "\tcert: %q\n", certFile)
	key := s.Key
	if (key.Mount == "" || key.Mount == "secret") && (key.Field == "" || key.Field == "key") && key.Version == 0 {
		fmt.Fprintf(&b, "\tkey: path: %q\n", key.Path)
	} else {
		fmt.Fprintf(&b, "\tkey: {mount: %q, path: %q, field: %q", key.Mount, key.Path, key.Field)
		if key.Version > 0 {
			fmt.Fprintf(&b, ", version: %d", key.Version)
		}
		b.WriteString("}\n")
	}
	if len(s.Upstreams) > 0 {
		fmt.Fprintf(&b, "\troutes: \"/\": upstreams: %s\n", list(s.Upstreams))
	}
	if s.RedirectTo != "" {
		fmt.Fprintf(&b, "\tredirects: [{to: %q}]\n", s.RedirectTo)
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

func list(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
