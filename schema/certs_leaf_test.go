package schema

import (
	"crypto/x509"
	"encoding/pem"
	"runtime"
	"slices"
	"testing"
	"time"
)

// TestCheckedChainKeepsLeafFacts: a checked chain keeps its DER and the leaf facts every
// reader uses, as a full parse of the leaf gives them.
func TestCheckedChainKeepsLeafFacts(t *testing.T) {
	b := testChainPEM(t, 1)[0]
	cf := parseCertChain(b)
	if len(cf.problems) > 0 || len(cf.der) != 2 || cf.leaf == nil || cf.chain != nil {
		t.Fatalf("problems %v, %d DER, leaf %v, chain %d", cf.problems, len(cf.der), cf.leaf, len(cf.chain))
	}
	blk, rest := pem.Decode(b)
	ca, _ := pem.Decode(rest)
	if string(cf.der[0]) != string(blk.Bytes) || string(cf.der[1]) != string(ca.Bytes) {
		t.Error("DER differs from the file's")
	}
	full, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	l := cf.leaf
	if !slices.Equal(l.DNSNames, full.DNSNames) || len(l.IPAddresses) != len(full.IPAddresses) || l.CommonName != full.Subject.CommonName ||
		!l.NotBefore.Equal(full.NotBefore) || !l.NotAfter.Equal(full.NotAfter) || l.KeyAlgorithm != full.PublicKeyAlgorithm ||
		string(l.PublicKeyInfo) != string(full.RawSubjectPublicKeyInfo) {
		t.Errorf("leaf facts %+v differ from the full parse", l)
	}
	if !cf.notAfter.Equal(full.NotAfter) || cf.which != "certificate" {
		t.Errorf("earliest expiry %v (%s); want the leaf's %v", cf.notAfter, cf.which, full.NotAfter)
	}
}

// TestSlimChainDropsTheParsedLeaf: once a chain is slimmed, nothing the facts hold keeps
// its parsed leaf (about 2.5 KB of heap per site) reachable.
func TestSlimChainDropsTheParsedLeaf(t *testing.T) {
	b := testChainPEM(t, 1)[0]
	var chain []*x509.Certificate
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	collected := make(chan struct{})
	runtime.AddCleanup(chain[0], func(ch chan struct{}) { close(ch) }, collected)
	cf := &certFacts{}
	slimChain(cf, chain)
	chain = nil
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		runtime.GC()
		select {
		case <-collected:
			done = true
		case <-deadline:
			t.Fatal("the parsed leaf is still reachable from the slimmed facts")
		case <-time.After(10 * time.Millisecond):
		}
	}
	runtime.KeepAlive(cf)
	if cf.leaf == nil || len(cf.issuers) != 1 {
		t.Fatalf("facts lost: leaf %v, %d issuers", cf.leaf, len(cf.issuers))
	}
}
