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

	"github.com/edgectl/edge/tests/testenv"
)

// TestDNS01WildcardWithPebble obtains a wildcard certificate from a real Pebble that
// validates DNS-01 by asking a real knot, where the solver put the records with TSIG-signed
// updates; afterwards the records are gone.
func TestDNS01WildcardWithPebble(t *testing.T) {
	t.Parallel()
	key := testenv.NewTSIGKey("edge-acme")
	d := testenv.StartDNSUpdates(t, "acme.test", map[string][]string{"www": {"127.0.0.1"}}, key)
	p := testenv.StartPebble(t, testenv.PebbleOptions{DNSServer: d.Addr})
	solver := newSolver(t, d.Addr, d.Zone, key)
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
	account, err := client.NewAccount(ctx, acme.Account{Contact: []string{"mailto:ops@acme.test"},
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
