package issue_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/tests/testenv"
)

// TestDNS01WildcardWithPebble obtains a wildcard certificate from a real Pebble that
// validates DNS-01 by asking a real knot, where the solver put the records with updates
// signed with a TSIG secret read from a real Vault; afterwards the records are gone.
func TestDNS01WildcardWithPebble(t *testing.T) {
	t.Parallel()
	key := testenv.NewTSIGKey("edge-acme")
	d := testenv.StartDNSUpdates(t, "acme.test", map[string][]string{"www": {"127.0.0.1"}}, key)
	p := testenv.StartPebble(t, testenv.PebbleOptions{DNSServer: d.Addr})
	v := testenv.StartVault(t)
	v.PutKV(t, "secret", "edge/_dns/acme-test", map[string]any{"tsig": key.Secret})
	// The TSIG secret is read from Vault at each update; the zone is found by SOA.
	solver, err := issue.NewRFC2136Solver(issue.RFC2136Config{Server: d.Addr, TSIGName: key.Name, TTL: time.Second,
		TSIGSecretFunc: func(ctx context.Context) ([]byte, error) {
			return issue.TSIGSecretFromVault(ctx, v.Client, "secret", "edge/_dns/acme-test", "tsig")
		}})
	if err != nil {
		t.Fatal(err)
	}
	client := acmez.Client{
		Client: &acme.Client{Directory: p.DirectoryURL, HTTPClient: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.TLSPool}},
		}},
		ChallengeSolvers: map[string]acmez.Solver{acme.ChallengeTypeDNS01: solver},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	accountKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var account acme.Account
	account, err = client.NewAccount(ctx, acme.Account{Contact: []string{"mailto:ops@acme.test"},
		TermsOfServiceAgreed: true, PrivateKey: accountKey})
	if err != nil {
		t.Fatal(err)
	}
	certKey := newKey(t)
	start := time.Now()
	certs, err := client.ObtainCertificateForSANs(ctx, account, certKey, []string{"*.acme.test", "acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("DNS-01 order for *.acme.test and acme.test: %v", time.Since(start).Round(time.Millisecond))
	block, _ := pem.Decode(certs[0].ChainPEM)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"api.acme.test", "acme.test"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("certificate does not cover %s: %v", name, err)
		}
	}
	if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(certKey.Public()) {
		t.Error("certificate certifies another key")
	}
	if got := txt(t, d, "_acme-challenge.acme.test"); len(got) != 0 {
		t.Errorf("challenge records left after the order: %q", got)
	}
	if n := p.Orders(); n != 1 {
		t.Errorf("Pebble saw %d orders, want 1", n)
	}
}
