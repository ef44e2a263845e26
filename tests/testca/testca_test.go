package testca_test

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testca"
)

func TestIssue(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kt       testca.KeyType
		notAfter time.Time
		wantAlg  x509.PublicKeyAlgorithm
		expired  bool
	}{
		{testca.ECDSA, time.Time{}, x509.ECDSA, false},
		{"", time.Now().Add(time.Hour), x509.ECDSA, false},
		{testca.RSA, time.Time{}, x509.RSA, false},
		{testca.ECDSA, time.Now().Add(-time.Hour), x509.ECDSA, true},
	}
	for _, tt := range tests {
		l, err := ca.Issue([]string{"a.test", "*.a.test", "127.0.0.1"}, tt.kt, tt.notAfter)
		if err != nil {
			t.Fatal(err)
		}
		if l.Cert.PublicKeyAlgorithm != tt.wantAlg {
			t.Errorf("%q: algorithm %v; want %v", tt.kt, l.Cert.PublicKeyAlgorithm, tt.wantAlg)
		}
		if got := time.Now().After(l.Cert.NotAfter); got != tt.expired {
			t.Errorf("%q: expired %v; want %v", tt.kt, got, tt.expired)
		}
		if len(l.Cert.IPAddresses) != 1 || len(l.Cert.DNSNames) != 2 {
			t.Errorf("SANs: %v %v", l.Cert.DNSNames, l.Cert.IPAddresses)
		}
		if n := strings.Count(string(l.ChainPEM), "BEGIN CERTIFICATE"); n != 2 {
			t.Errorf("chain has %d certificates; want 2", n)
		}
		if b, _ := pem.Decode(l.KeyPEM); b == nil || b.Type != "PRIVATE KEY" {
			t.Errorf("key PEM: %v", b)
		}
	}
	if _, err := ca.Issue([]string{"a.test"}, "dsa", time.Time{}); err == nil {
		t.Error("unknown key type: got nil error")
	}
}

func TestLeafTLS(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	key, err := testca.NewKey(testca.ECDSA)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ca.IssueKey([]string{"a.test"}, key, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.IssueKey([]string{"b.test"}, key, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if string(a.KeyPEM) != string(b.KeyPEM) {
		t.Error("IssueKey: the two leaves have different keys; want the key given")
	}
	c := a.TLS
	if c.Leaf != a.Cert || len(c.Certificate) != 2 || c.PrivateKey != key {
		t.Fatalf("TLS: leaf %p (want %p), %d certificates (want 2), key given %v", c.Leaf, a.Cert, len(c.Certificate), c.PrivateKey == key)
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: "a.test", Roots: ca.Pool()}); err != nil {
		t.Errorf("verify with Pool: %v", err)
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: "b.test", Roots: ca.Pool()}); err == nil {
		t.Error("verify for a host not covered: got nil error")
	}
}

// TestIssueClient: a client certificate verifies for clientAuth against the CA, and not for
// serverAuth; a server certificate does not verify for clientAuth.
func TestIssueClient(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.IssueClient("prometheus", testca.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cert.Subject.CommonName != "prometheus" || len(c.TLS.Certificate) != 2 {
		t.Errorf("client certificate CN %q, chain %d; want prometheus, 2", c.Cert.Subject.CommonName, len(c.TLS.Certificate))
	}
	verify := func(l *testca.Leaf, usage x509.ExtKeyUsage) error {
		_, err := l.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{usage}})
		return err
	}
	if err := verify(c, x509.ExtKeyUsageClientAuth); err != nil {
		t.Errorf("client certificate for clientAuth: %v", err)
	}
	if verify(c, x509.ExtKeyUsageServerAuth) == nil {
		t.Error("client certificate verifies for serverAuth")
	}
	s, err := ca.Issue([]string{"a.test"}, testca.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if verify(s, x509.ExtKeyUsageClientAuth) == nil {
		t.Error("server certificate verifies for clientAuth")
	}
}
