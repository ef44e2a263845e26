package issue_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/tests/testca"
	"github.com/edgectl/edge/tests/testenv"
)

// TestACMERenewalReplaces: a renewal order names the certificate it renews ("replaces",
// RFC 9773), and real Pebble takes it as that certificate's replacement. When the CA
// refuses the replaces (already replaced, or a certificate it never issued) the order is
// placed without it and still succeeds.
func TestACMERenewalReplaces(t *testing.T) {
	t.Parallel()
	p := testenv.StartPebble(t, testenv.PebbleOptions{AlwaysValid: true})
	v := testenv.StartVault(t)
	st := newStore(t, v, "agent-a", time.Minute)
	a, err := issue.NewACME("pebble", issue.ACMEConfig{Directory: p.DirectoryURL}, issue.ACMEOptions{Store: st, Challenges: issue.NewChallenges(st), Roots: p.TLSPool})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	names := []string{"ari.edge.test"}
	order := func(what string, replaces *x509.Certificate) *x509.Certificate {
		t.Helper()
		got, err := a.Issue(ctx, issue.Request{Names: names, Key: newKey(t), Replaces: replaces})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		block, _ := pem.Decode(got.ChainPEM)
		if block == nil {
			t.Fatalf("%s: no PEM chain", what)
		}
		leaf, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return leaf
	}
	first := order("first order", nil)
	if n := p.Replacements(); n != 0 {
		t.Fatalf("Pebble counted %d replacements after a first order; want 0", n)
	}
	order("renewal", first)
	if n := p.Replacements(); n != 1 {
		t.Fatalf("Pebble counted %d replacements after the renewal; want 1", n)
	}
	order("renewal of a certificate already replaced", first)
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := ca.Issue(names, testca.ECDSA, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	order("renewal of a certificate the CA never issued", foreign.Cert)
	if n := p.Replacements(); n != 1 {
		t.Fatalf("Pebble counted %d replacements; want still 1", n)
	}
}
