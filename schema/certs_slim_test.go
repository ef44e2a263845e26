package schema

import (
	"crypto"
	"crypto/x509"
	"slices"
	"testing"
	"time"
)

// TestSlimLeafKeepsWhatReadersUse: a parsed chain's leaf holds no raw extension list and
// no name attribute lists, its issuer name is the issuer's subject, and everything else a
// reader uses is as a full parse of its DER gives it (names, dates, key, key usages, key
// identifiers, serial); the leaf still verifies against its issuer for its name.
func TestSlimLeafKeepsWhatReadersUse(t *testing.T) {
	cf := parseCertChain(testChainPEM(t, 1)[0])
	if len(cf.problems) > 0 || len(cf.chain) != 2 {
		t.Fatalf("problems %v, chain of %d", cf.problems, len(cf.chain))
	}
	leaf, ca := cf.chain[0], cf.chain[1]
	full, err := x509.ParseCertificate(leaf.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Extensions != nil || leaf.Subject.Names != nil || leaf.Issuer.Names != nil {
		t.Errorf("kept: %d extensions, %d subject names, %d issuer names", len(leaf.Extensions), len(leaf.Subject.Names), len(leaf.Issuer.Names))
	}
	if len(full.Extensions) == 0 {
		t.Fatal("the fixture's leaf has no extensions: the test shows nothing")
	}
	if leaf.Issuer.String() != full.Issuer.String() || leaf.Issuer.CommonName != ca.Subject.CommonName || leaf.Subject.String() != full.Subject.String() {
		t.Errorf("issuer %q subject %q; want %q %q", leaf.Issuer, leaf.Subject, full.Issuer, full.Subject)
	}
	if !slices.Equal(leaf.DNSNames, full.DNSNames) || !leaf.NotAfter.Equal(full.NotAfter) || !leaf.NotBefore.Equal(full.NotBefore) ||
		!slices.Equal(leaf.ExtKeyUsage, full.ExtKeyUsage) || leaf.SerialNumber.Cmp(full.SerialNumber) != 0 ||
		string(leaf.AuthorityKeyId) != string(full.AuthorityKeyId) || leaf.PublicKeyAlgorithm != full.PublicKeyAlgorithm || !leaf.Equal(full) {
		t.Error("the slimmed leaf differs from a full parse in a field readers use")
	}
	if pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(full.PublicKey) {
		t.Error("public key differs")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "s.example.test", CurrentTime: time.Now()}); err != nil {
		t.Errorf("verify: %v", err)
	}
	if err := leaf.VerifyHostname("other.example.test"); err == nil {
		t.Error("covers a name it does not hold")
	}
}
