package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/edgectl/edge/schema"
)

func init() {
	register(command{name: "keys", summary: "manage site private keys in Vault (keys put)", run: runKeys})
}

const keysUsage = `usage: edgectl keys put SITE --cert CHAIN.pem --key KEY.pem [flags]

Checks that KEY.pem matches the certificate in CHAIN.pem, that the certificate covers every
host of SITE and is valid now, then writes the key to Vault KV v2 at the reference SITE
declares (key: mount/path/field) and prints the new version. The key is never printed.

Vault: --vault-addr (default $VAULT_ADDR); token from --vault-token-file, else $VAULT_TOKEN.
The token needs read, create and update on the key's data path.

Exit status: 0 written, 1 a check failed (or the repo is invalid), 2 usage, I/O or Vault error.

flags:
`

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, ok := subcommand(args, "put", keysUsage, keysPutFlags(stderr, new(keysPutOpts)), stderr); !ok {
		return code
	}
	return keysPut(ctx, args[1:], stdout, stderr)
}

type keysPutOpts struct {
	cert, key, repo string
	vault           vaultCLI
}

// keysPutFlags returns the flag set of keys put, which fills o.
func keysPutFlags(stderr io.Writer, o *keysPutOpts) *flag.FlagSet {
	f := flag.NewFlagSet("keys put", flag.ContinueOnError)
	f.SetOutput(stderr)
	f.StringVar(&o.cert, "cert", "", "PEM certificate chain, leaf first (required)")
	f.StringVar(&o.key, "key", "", "PEM private key (required)")
	f.StringVar(&o.repo, "repo", ".", "config repo directory")
	o.vault.flags(f)
	return f
}

func keysPut(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o keysPutOpts
	f := keysPutFlags(stderr, &o)
	f.Usage = func() { fmt.Fprint(stderr, keysUsage); f.PrintDefaults() }
	pos, code, ok := parseArgs(f, args) // SITE may come before, between or after the flags
	if !ok {
		return code
	}
	if len(pos) != 1 || o.cert == "" || o.key == "" {
		fmt.Fprintln(stderr, "edgectl keys put: need SITE, --cert and --key")
		f.Usage()
		return exitUsage
	}

	certPEM, err := os.ReadFile(o.cert)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl keys put: %v\n", err)
		return exitUsage
	}
	keyPEM, err := readKeyFile(o.key)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl keys put: %v\n", err)
		return exitUsage
	}
	s, code := loadSite(o.repo, pos[0], stderr)
	if s == nil {
		return code
	}
	leaf, problems := checkKeyPair(s, o.cert, certPEM, keyPEM, time.Now())
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "edgectl keys put: site %s (%s): %s\n", s.Name, s.File, p)
		}
		return exitInvalid
	}

	vk, ctx, done, err := o.vault.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl keys put: %v\n", err)
		return exitUsage
	}
	defer done()
	version, err := vk.Put(ctx, s.Key, keyPEM)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl keys put: site %s: %v\n", s.Name, err)
		return exitUsage
	}
	ref := s.Key
	ref.Version = 0
	fmt.Fprintf(stdout, "site %s: key written to vault %s/%s#%s, version %d\n", s.Name, ref.Mount, ref.Path, ref.Field, version)
	for _, n := range rotationNotes(s, leaf, o.cert, version) {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	return exitOK
}

// readKeyFile reads a private key file; its errors never quote the content.
func readKeyFile(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || !strings.HasSuffix(block.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("%s: no PEM private key found", name)
	}
	return b, nil
}

// loadSite loads and validates the config repo and returns the site named name (the base
// name of its sites/<name>.cue file). On failure it reports to stderr and returns the exit
// code: 1 for an invalid repo, 2 for I/O or an unknown site. An expired certificate in the
// repo is only a warning here: replacing it is what keys put is for.
func loadSite(repo, name string, stderr io.Writer) (*schema.Site, int) {
	l := schema.NewLoader(schema.LoaderOptions{LenientExpiry: true})
	cfg, err := l.Load(os.DirFS(repo))
	var diags schema.Diagnostics
	if errors.As(err, &diags) {
		fmt.Fprintf(stderr, "edgectl keys put: config repo %s is invalid:\n%s\n", repo, diags.Error())
		return nil, exitInvalid
	}
	if err != nil {
		fmt.Fprintf(stderr, "edgectl keys put: load config repo %s: %v\n", repo, err)
		return nil, exitUsage
	}
	for _, s := range cfg.Sites {
		if s.Name == name && s.Passthrough != nil {
			fmt.Fprintf(stderr, "edgectl keys put: site %s (%s) is a passthrough site: its upstreams hold their own key, the edge has none\n", s.Name, s.File)
			return nil, exitUsage
		}
		if s.Name == name {
			return s, exitOK
		}
	}
	fmt.Fprintf(stderr, "edgectl keys put: no site %q in %s (sites are sites/<name>.cue)\n", name, repo)
	return nil, exitUsage
}

// checkKeyPair checks keyPEM against the chain in certPEM for site s at time now: the key
// matches the leaf's public key, the leaf covers every host of s, and it is valid now. It
// returns the parsed leaf (nil if unparsable) and the problems found, worded for a person.
func checkKeyPair(s *schema.Site, certFile string, certPEM, keyPEM []byte, now time.Time) (*x509.Certificate, []string) {
	var problems []string
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, []string{fmt.Sprintf("%s and the key do not form a pair: %v", certFile, err)}
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, []string{fmt.Sprintf("%s: %v", certFile, err)}
		}
	}
	if now.After(leaf.NotAfter) {
		problems = append(problems, fmt.Sprintf("%s expired on %s", certFile, leaf.NotAfter.UTC().Format(time.RFC3339)))
	}
	if now.Before(leaf.NotBefore) {
		problems = append(problems, fmt.Sprintf("%s is not valid before %s", certFile, leaf.NotBefore.UTC().Format(time.RFC3339)))
	}
	for _, h := range s.Hosts {
		if !certCovers(leaf, h) {
			problems = append(problems, fmt.Sprintf("%s does not cover host %s (it names %s)", certFile, h, strings.Join(leaf.DNSNames, ", ")))
		}
	}
	return leaf, problems
}

// certCovers reports whether leaf is valid for host, a name or a "*.x" wildcard. A
// wildcard host needs the same wildcard in the certificate.
func certCovers(leaf *x509.Certificate, host string) bool {
	if strings.HasPrefix(host, "*.") {
		for _, n := range leaf.DNSNames {
			if strings.EqualFold(n, host) {
				return true
			}
		}
		return false
	}
	return leaf.VerifyHostname(host) == nil
}

// rotationNotes tells the operator what else a rotation needs.
func rotationNotes(s *schema.Site, leaf *x509.Certificate, certFile string, version int) []string {
	var notes []string
	sameCert := len(s.Cert.DER) > 0 && leaf != nil && bytes.Equal(s.Cert.DER[0], leaf.Raw)
	if !sameCert {
		notes = append(notes, fmt.Sprintf("%s is not the certificate in %s: commit it there", certFile, s.Cert.File))
	}
	switch {
	case s.Key.Version > 0:
		notes = append(notes, fmt.Sprintf("%s pins key version %d: set it to %d in the same commit as the certificate", s.File, s.Key.Version, version))
	case !sameCert:
		notes = append(notes, fmt.Sprintf("%s reads the latest key version: agents pick the new key up on their next key refresh and cannot use it with the old certificate until the new one is committed; pin versions to rotate in one step", s.File))
	}
	return notes
}
