package schema

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"runtime"
	"testing"
	"time"
)

// testChainPEM returns n chains (leaf, then the same intermediate CA) as PEM files.
func testChainPEM(t *testing.T, n int) [][]byte {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Intermediate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	var out [][]byte
	for i := range n {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), DNSNames: []string{"s.example.test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...))
	}
	return out
}

// TestChainsShareIssuers: chains naming the same intermediate share one parsed copy of it,
// leaves stay their own, and the shared copy is forgotten once no chain holds it.
func TestChainsShareIssuers(t *testing.T) {
	pems := testChainPEM(t, 3)
	var facts []*certFacts
	for i, b := range pems {
		cf := parseCertChain(b)
		if len(cf.problems) > 0 || len(cf.der) != 2 || len(cf.issuers) != 1 {
			t.Fatalf("chain %d: %v", i, cf.problems)
		}
		facts = append(facts, cf)
	}
	if facts[0].issuers[0] != facts[1].issuers[0] || facts[1].issuers[0] != facts[2].issuers[0] || &facts[0].der[1][0] != &facts[2].der[1][0] {
		t.Error("the shared intermediate was parsed once per chain")
	}
	if facts[0].leaf == facts[1].leaf || &facts[0].der[0][0] == &facts[1].der[0][0] {
		t.Error("two different leaves share a parse")
	}
	issuerRaw := facts[0].issuers[0].Raw
	facts = nil
	runtime.GC()
	runtime.GC()
	issuers.mu.Lock()
	alive := issuers.m[sha256.Sum256(issuerRaw)].Value() != nil
	issuers.mu.Unlock()
	if alive {
		t.Error("the intermediate is still held after every chain naming it was dropped")
	}
	cf := parseCertChain(pems[0])
	if len(cf.issuers) != 1 || string(cf.der[1]) != string(issuerRaw) {
		t.Fatal("re-parse after collection failed")
	}
}

// TestIssuerEntriesAreRemoved: a long-running agent sees issuers come and go (intermediate
// rotations, private CAs); entries of collected certificates must not pile up.
func TestIssuerEntriesAreRemoved(t *testing.T) {
	before := issuers.size()
	for range 200 {
		pems := testChainPEM(t, 1) // a new intermediate each time
		if cf := parseCertChain(pems[0]); len(cf.problems) > 0 {
			t.Fatal(cf.problems)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for issuers.size() > before+10 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := issuers.size(); n > before+10 {
		t.Errorf("%d issuer entries after 200 collected issuers (had %d); want them removed", n, before)
	}
}
