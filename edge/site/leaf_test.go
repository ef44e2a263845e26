package site

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"testing"
	"unsafe"
)

// TestCertLeafNames: a CertLeaf has the certificate's names and common name, held in one
// string (the names are substrings of it), and a certificate without names keeps its
// common name.
func TestCertLeafNames(t *testing.T) {
	c := &x509.Certificate{DNSNames: []string{"example.com", "*.example.com", "x.test"}, Subject: pkix.Name{CommonName: "example.com"}}
	l := NewCertLeaf(c)
	if !slices.Equal(l.DNSNames, c.DNSNames) || l.CommonName != "example.com" || l.Name() != "example.com" {
		t.Fatalf("names %q, common name %q; want %q, %q", l.DNSNames, l.CommonName, c.DNSNames, "example.com")
	}
	all := l.CommonName + l.DNSNames[0] + l.DNSNames[1] + l.DNSNames[2]
	if got := packedLen(l); got != len(all) {
		t.Fatalf("names span %d bytes of one string; want %d", got, len(all))
	}
	if l := NewCertLeaf(&x509.Certificate{Subject: pkix.Name{CommonName: "cn.test"}}); len(l.DNSNames) != 0 || l.Name() != "cn.test" {
		t.Fatalf("no SANs: names %q, Name %q; want none, cn.test", l.DNSNames, l.Name())
	}
}

// packedLen returns the bytes from the start of l.CommonName to the end of its last DNS
// name when they lie one after another in one string, else -1.
func packedLen(l *CertLeaf) int {
	at := uintptr(unsafe.Pointer(unsafe.StringData(l.CommonName)))
	next := at + uintptr(len(l.CommonName))
	for _, n := range l.DNSNames {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(n))); p != next {
			return -1
		}
		next += uintptr(len(n))
	}
	return int(next - at)
}
