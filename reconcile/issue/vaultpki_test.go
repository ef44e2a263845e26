package issue_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/tests/testenv"
)

// startPKI starts a real Vault with the PKI engine at "pki/", a generated root CA, and
// roles "edge" (internal.test and its subdomains, 1h) and "short" (6s, for renewal); it
// returns the server and the root certificate.
func startPKI(t *testing.T) (*testenv.Vault, *x509.Certificate) {
	t.Helper()
	v := testenv.StartVault(t)
	root := v.EnablePKI(t)
	l := v.Client.Logical()
	for role, ttl := range map[string]string{"edge": "1h", "short": "6s"} {
		if _, err := l.Write("pki/roles/"+role, map[string]any{
			"allowed_domains": "internal.test", "allow_subdomains": true, "allow_wildcard_certificates": true,
			"ttl": ttl, "max_ttl": ttl, "not_before_duration": "1s", "key_type": "any",
		}); err != nil {
			t.Fatal(err)
		}
	}
	return v, root
}

func newKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// tokenClient is a client of v authenticated with a token holding only policies.
func tokenClient(t *testing.T, v *testenv.Vault, policies ...string) *vaultapi.Client {
	t.Helper()
	c, err := v.Client.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(v.CreateToken(t, policies, nil))
	return c
}

// checkIssued verifies got: a chain leading to root, for names, certifying key's public key,
// RenewAfter at two thirds of the lifetime.
func checkIssued(t *testing.T, got *issue.Issued, root *x509.Certificate, key crypto.Signer, names ...string) *x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for rest := got.ChainPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if len(certs) < 2 {
		t.Fatalf("chain has %d certificates, want leaf and CA", len(certs))
	}
	leaf := certs[0]
	roots := x509.NewCertPool()
	roots.AddCert(root)
	for _, n := range names {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: strings.Replace(n, "*", "x", 1), Roots: roots}); err != nil {
			t.Errorf("leaf does not verify for %s: %v", n, err)
		}
	}
	if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Error("leaf certifies another key than the request's")
	}
	if !got.NotBefore.Equal(leaf.NotBefore) || !got.NotAfter.Equal(leaf.NotAfter) {
		t.Errorf("validity %v..%v, leaf says %v..%v", got.NotBefore, got.NotAfter, leaf.NotBefore, leaf.NotAfter)
	}
	want := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) * 2 / 3)
	if !got.RenewAfter.Equal(want) {
		t.Errorf("RenewAfter %v, want two thirds of the lifetime: %v", got.RenewAfter, want)
	}
	return leaf
}

// TestVaultPKI signs with a real Vault's PKI engine: an internal name and a wildcard, a
// denied role, a name the role refuses, renewal of a short-lived certificate, Vault down.
func TestVaultPKI(t *testing.T) {
	t.Parallel()
	v, root := startPKI(t)
	hcl, err := os.ReadFile("../../examples/vault/edge-pki-policy.hcl") // sign with pki role "edge", nothing else
	if err != nil {
		t.Fatal(err)
	}
	v.WritePolicy(t, "pki-sign", string(hcl))
	ctx := context.Background()
	edge := issue.NewVaultPKI(tokenClient(t, v, "pki-sign"), "internal", "pki", "edge")
	if edge.Name() != "internal" {
		t.Errorf("Name() = %q", edge.Name())
	}

	t.Run("issues", func(t *testing.T) {
		key := newKey(t)
		names := []string{"api.internal.test", "*.apps.internal.test"}
		got, err := edge.Issue(ctx, issue.Request{Names: names, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		leaf := checkIssued(t, got, root, key, names...)
		if leaf.Subject.CommonName != names[0] {
			t.Errorf("subject %q, want %q", leaf.Subject.CommonName, names[0])
		}
		if life := got.NotAfter.Sub(got.NotBefore); life < 59*time.Minute || life > 62*time.Minute {
			t.Errorf("lifetime %v, want the role's 1h", life)
		}
	})
	t.Run("ttl and do", func(t *testing.T) {
		c := tokenClient(t, v, "pki-sign")
		calls := 0
		do := func(ctx context.Context, op func(*vaultapi.Client) error) error { calls++; return op(c) }
		short := issue.NewVaultPKI(nil, "internal", "pki", "edge", issue.VaultPKITTL(10*time.Minute), issue.VaultPKIDo(do))
		key := newKey(t)
		got, err := short.Issue(ctx, issue.Request{Names: []string{"db.internal.test"}, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		checkIssued(t, got, root, key, "db.internal.test")
		if life := got.NotAfter.Sub(got.NotBefore); life < 9*time.Minute || life > 12*time.Minute || calls != 1 {
			t.Errorf("lifetime %v after %d calls of do, want 10m after one", life, calls)
		}
	})
	t.Run("role denied by policy", func(t *testing.T) {
		other := issue.NewVaultPKI(tokenClient(t, v, "pki-sign"), "internal", "pki", "short")
		_, err := other.Issue(ctx, issue.Request{Names: []string{"api.internal.test"}, Key: newKey(t)})
		checkRefused(t, err, "permission denied", "pki/sign/short")
	})
	t.Run("name the role refuses", func(t *testing.T) {
		_, err := edge.Issue(ctx, issue.Request{Names: []string{"www.example.com"}, Key: newKey(t)})
		checkRefused(t, err, "www.example.com", "pki/sign/edge")
	})
	t.Run("renewal", func(t *testing.T) { testPKIRenewal(t, v, root) })
	t.Run("vault sealed", func(t *testing.T) {
		if err := v.Client.Sys().Seal(); err != nil {
			t.Fatal(err)
		}
		_, err := edge.Issue(ctx, issue.Request{Names: []string{"api.internal.test"}, Key: newKey(t)})
		var ra *issue.RetryAfterError
		if !errors.As(err, &ra) || !ra.After.After(time.Now()) {
			t.Fatalf("sealed vault: %v, want a RetryAfterError", err)
		}
		t.Logf("error: %v", err)
	})
	t.Run("vault down", func(t *testing.T) {
		v.Stop()
		_, err := edge.Issue(ctx, issue.Request{Names: []string{"api.internal.test"}, Key: newKey(t)})
		checkRefused(t, err, "connection refused", "pki/sign/edge")
	})
}

// checkRefused checks err names the issuer, path and reason and carries no key material.
func checkRefused(t *testing.T, err error, reason, path string) {
	t.Helper()
	if err == nil {
		t.Fatal("issued, want an error")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	for _, want := range []string{"issuer internal", reason, path} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "PRIVATE KEY") || strings.Contains(msg, "CERTIFICATE REQUEST") {
		t.Errorf("error carries PEM material: %q", msg)
	}
	var ra *issue.RetryAfterError
	if errors.As(err, &ra) {
		t.Errorf("a refusal is not a rate limit: %v", err)
	}
}

// testPKIRenewal issues a 6s certificate, waits for its RenewAfter and renews it with a
// new key: the new certificate starts later and lasts as long.
func testPKIRenewal(t *testing.T, v *testenv.Vault, root *x509.Certificate) {
	short := issue.NewVaultPKI(v.Client, "internal", "pki", "short")
	ctx := context.Background()
	req := issue.Request{Names: []string{"svc.internal.test"}, Key: newKey(t)}
	first, err := short.Issue(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	checkIssued(t, first, root, req.Key, req.Names...)
	if !first.RenewAfter.Before(first.NotAfter) || !first.RenewAfter.After(first.NotBefore) {
		t.Fatalf("RenewAfter %v outside %v..%v", first.RenewAfter, first.NotBefore, first.NotAfter)
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(first.RenewAfter); {
		if time.Now().After(deadline) {
			t.Fatal("RenewAfter never came")
		}
		time.Sleep(100 * time.Millisecond) // polling the clock for RenewAfter, not synchronising
	}
	req.Key = newKey(t)
	second, err := short.Issue(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	checkIssued(t, second, root, req.Key, req.Names...)
	if !second.NotAfter.After(first.NotAfter) {
		t.Errorf("renewed certificate ends %v, not after the first's %v", second.NotAfter, first.NotAfter)
	}
	t.Logf("lifetime %v, renew after %v", first.NotAfter.Sub(first.NotBefore), first.RenewAfter.Sub(first.NotBefore))
}
