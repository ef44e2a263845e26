package tests

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/tests/testenv"
)

// The tests of this file run agent binaries with an issuer on Vault's PKI secrets engine.

// enablePKI mounts Vault's PKI engine at pki/ with a generated root and the role "edge"
// (names under internal.test, certificates living at most maxTTL); the root's pool.
func enablePKI(t *testing.T, v *testenv.Vault, maxTTL string) *x509.CertPool {
	t.Helper()
	root := v.EnablePKI(t)
	l := v.Client.Logical()
	if _, err := l.Write("pki/roles/edge", map[string]any{
		"allowed_domains": "internal.test", "allow_subdomains": true,
		"ttl": maxTTL, "max_ttl": maxTTL, "not_before_duration": "1s", "key_type": "any",
	}); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return pool
}

// pkiSigned is how many certificates Vault's PKI engine at pki/ has signed (its stored
// serials, less the root's).
func pkiSigned(t *testing.T, v *testenv.Vault) int {
	t.Helper()
	s, err := v.Client.Logical().ListWithContext(context.Background(), "pki/certs")
	if err != nil {
		t.Fatal(err)
	}
	if s == nil {
		return 0
	}
	keys, _ := s.Data["keys"].([]any)
	return len(keys) - 1
}

// TestVaultPKIIssuedOnceServedByBothRenewed: a commit adds a site whose issuer is Vault's
// PKI engine; of two agents sharing Vault and the repo, one has it signed (once), both serve
// it with a chain to the PKI root, and with 30-second certificates it is renewed before
// expiry while a client keeps asking both agents, none of its requests failing.
func TestVaultPKIIssuedOnceServedByBothRenewed(t *testing.T) {
	t.Parallel()
	const ttl = 30 * time.Second
	f := startIssueFleet(t, fmt.Sprintf("package edge\n\nissuers: internal: vault_pki: {mount: \"pki\", role: \"edge\", ttl: %q}\n", ttl),
		"edge-policy.hcl", "edge-pki-policy.hcl")
	roots := enablePKI(t, f.vault, "1h")
	port := portOf(sharedPortAddrs(t, acmeIPA, acmeIPB)[0])
	a := f.startAgent(acmeIPA, port, "")
	b := f.startAgent(acmeIPB, port, "")
	const host = "app.internal.test"
	start := f.addSite("internal", "internal", host)
	first := waitServedBy(a, host, roots)
	t.Logf("figure: Vault PKI, commit to served with a fresh certificate: %v", time.Since(start).Round(time.Millisecond))
	if sb := waitServedBy(b, host, roots); sb != first {
		t.Fatalf("agents serve serials %s and %s; want the one certificate", first, sb)
	}
	t.Logf("figure: Vault PKI, commit to served by both agents: %v", time.Since(start).Round(time.Millisecond))
	if n := pkiSigned(t, f.vault); n != 1 {
		t.Fatalf("Vault PKI signed %d certificates; want 1", n)
	}
	for _, p := range []*agentProc{a, b} {
		p.waitFor("status issued", 10*time.Second, func() bool {
			st := issueState(p, "internal")
			return st != nil && st.State == issue.StateIssued
		})
	}
	if body := getBody(t, "http://"+a.admin+"/ui/"); !strings.Contains(body, `<div class="issue issued">issued by internal, renews `) {
		t.Fatalf("status page does not show the issued certificate:\n%s", body)
	}
	failures := clientDuring(t, []*agentProc{a, b}, host, roots, func() {
		for _, p := range []*agentProc{a, b} {
			p.waitFor("a renewed certificate", 90*time.Second, func() bool {
				s, err := served(p, host, roots)
				return err == nil && s != first
			})
		}
	})
	if len(failures) > 0 {
		t.Fatalf("%d requests failed during renewal, first: %s", len(failures), failures[0])
	}
	if n := pkiSigned(t, f.vault); n != 2 {
		t.Fatalf("Vault PKI signed %d certificates; want the first and one renewal", n)
	}
}
