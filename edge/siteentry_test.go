package edge

import "testing"

// TestHostsShareCertSlice: the hosts a site's every certificate covers share one slice of
// them (one object per site, not one per host), each pointing at the serving certificate.
func TestHostsShareCertSlice(t *testing.T) {
	st := testSite(t, "shop", "shop.example.com", "www.shop.example.com")
	e, errs := newSiteEntry(st)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	a, b := e.hosts[0].certs, e.hosts[1].certs
	if len(a) != 1 || len(b) != 1 || &a[0] != &b[0] || a[0] != &e.certs[0] {
		t.Fatalf("host certificates %p, %p; want one shared slice holding &certs[0] %p", a, b, &e.certs[0])
	}
}
