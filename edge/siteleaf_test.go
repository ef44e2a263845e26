package edge

import (
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
)

// TestServingCertsGiveSupportsCertificateALeaf: a site with one certificate serves it as
// given (no Leaf needed: nothing chooses between certificates); one with several and no
// parsed Leaf serves copies whose Leaf has the names, so ClientHelloInfo.SupportsCertificate
// checks the name without parsing the certificate on every handshake, and the published
// site is not changed.
func TestServingCertsGiveSupportsCertificateALeaf(t *testing.T) {
	single := slimLeaves([]*Site{testSite(t, "one", "one.example.com")})[0]
	if got := servingCerts(single); &got[0] != &single.Certificates[0] {
		t.Error("a single certificate was copied")
	}
	dual := testSite(t, "dual", "dual.example.com")
	dual.Certificates = append(dual.Certificates, ca(t).Issue(t, edgetest.RSA, time.Time{}, "dual.example.com"))
	dual = slimLeaves([]*Site{dual})[0]
	got := servingCerts(dual)
	for i := range got {
		if dual.Certificates[i].Leaf != nil {
			t.Fatalf("certificate %d: the published site's Leaf was set", i)
		}
		if got[i].Leaf == nil || got[i].Leaf.VerifyHostname("dual.example.com") != nil || got[i].Leaf.VerifyHostname("other.example.com") == nil {
			t.Errorf("certificate %d: served Leaf %v does not name exactly dual.example.com", i, got[i].Leaf)
		}
		hello := &tls.ClientHelloInfo{ServerName: "other.example.com", SupportedVersions: []uint16{tls.VersionTLS13},
			SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, tls.PSSWithSHA256}}
		if hello.SupportsCertificate(&got[i]) == nil {
			t.Errorf("certificate %d: supported for a name it does not hold", i)
		}
	}
}

// TestCertLeafFromLeavesOrLeaf: the edge takes a certificate's facts from Leaves, else from
// its parsed Leaf, and refuses a certificate with neither.
func TestCertLeafFromLeavesOrLeaf(t *testing.T) {
	st := testSite(t, "shop", "shop.example.com")
	want := st.Certificates[0].Leaf.NotAfter
	if l := st.CertLeaf(0); l == nil || !l.NotAfter.Equal(want) || l.Name() != "shop.example.com" {
		t.Fatalf("from Leaf: %+v", l)
	}
	slim := slimLeaves([]*Site{st})[0]
	if l := slim.CertLeaf(0); l != slim.Leaves[0] {
		t.Error("Leaves[0] not used")
	}
	if e, errs := newSiteEntry(slim); e == nil || !e.notAfter.Equal(want) {
		t.Errorf("site with Leaves only: %v, expiry %v; want it served, expiring %v", errs, e, want)
	}
	slim.Leaves = []*site.CertLeaf{nil}
	if e, errs := newSiteEntry(slim); e != nil || len(errs) == 0 || !errors.Is(errs[0], ErrNoCertificate) {
		t.Errorf("neither Leaf nor Leaves: %v; want ErrNoCertificate", errs)
	}
}
