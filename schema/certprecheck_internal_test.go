package schema

import "testing"

// TestPrecheckCertFull: once PrecheckCert keeps its budget of DER bytes (a fetched commit
// that is then refused keeps what was checked until the next load), it refuses offers
// without doing their work; the next load takes the lot and offers are taken again.
func TestPrecheckCertFull(t *testing.T) {
	l := NewLoader(LoaderOptions{})
	notACert := []byte("-----BEGIN CERTIFICATE-----\nnot base64\n")
	if !l.PrecheckCert(make([]byte, 20), notACert) {
		t.Fatal("PrecheckCert refused with room left and no load running")
	}
	l.pre.bytes = maxPrecheckedBytes
	if l.PrecheckCert(make([]byte, 20), notACert) {
		t.Fatal("PrecheckCert took an offer with its budget used up")
	}
	l.pre.take()
	l.pre.done()
	if !l.PrecheckCert(make([]byte, 20), notACert) {
		t.Fatal("PrecheckCert refused after a load took what it kept")
	}
}
