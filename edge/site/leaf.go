package site

import (
	"crypto/x509"
	"net"
	"strings"
	"time"
)

// CertLeaf is what the configuration checks, the compile and the data plane need of a
// site's leaf certificate, kept instead of the parsed x509.Certificate: a parsed
// certificate with its public key holds about 2.5 KB of heap, most of it pointers the
// garbage collector scans on every cycle; this holds about 150 bytes, the names and a
// slice of the certificate's DER. Built once when the certificate file is parsed and
// never changed after.
type CertLeaf struct {
	// DNSNames and IPAddresses are the leaf's subject alternative names.
	DNSNames    []string
	IPAddresses []net.IP
	// CommonName is the subject's common name (messages only: names come from the SANs).
	CommonName string
	// NotBefore and NotAfter are the leaf's validity.
	NotBefore, NotAfter time.Time
	// KeyAlgorithm is the public key's algorithm (ECDSA, RSA, Ed25519).
	KeyAlgorithm x509.PublicKeyAlgorithm
	// PublicKeyInfo is the leaf's DER SubjectPublicKeyInfo, a slice of its DER: the
	// private key is matched against it.
	PublicKeyInfo []byte
}

// NewCertLeaf returns the CertLeaf of a parsed leaf certificate. It shares c's IP addresses
// and DER; its names are copies sharing one string (packNames).
func NewCertLeaf(c *x509.Certificate) *CertLeaf {
	l := CertLeafOf(c)
	return &l
}

// CertLeafOf is NewCertLeaf as a value, for a CertLeaf kept inside a larger allocation.
func CertLeafOf(c *x509.Certificate) CertLeaf {
	names, cn := packNames(c.DNSNames, c.Subject.CommonName)
	return CertLeaf{
		DNSNames:      names,
		IPAddresses:   c.IPAddresses,
		CommonName:    cn,
		NotBefore:     c.NotBefore,
		NotAfter:      c.NotAfter,
		KeyAlgorithm:  c.PublicKeyAlgorithm,
		PublicKeyInfo: c.RawSubjectPublicKeyInfo,
	}
}

// Name names the certificate in messages: its first DNS name, else its common name.
func (l *CertLeaf) Name() string {
	if len(l.DNSNames) > 0 {
		return l.DNSNames[0]
	}
	return l.CommonName
}

// packNames returns copies of names and cn that share one string: two objects kept per
// leaf (the slice and the string), not one per name plus the common name and the slice as
// crypto/x509 parses them (at 10,000 sites, 20,000 fewer objects the collector marks).
func packNames(names []string, cn string) ([]string, string) {
	if len(names) == 0 {
		return names, cn
	}
	n := len(cn)
	for _, s := range names {
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(cn)
	for _, s := range names {
		b.WriteString(s)
	}
	all := b.String()
	out := make([]string, len(names))
	at := len(cn)
	for i, s := range names {
		out[i] = all[at : at+len(s)]
		at += len(s)
	}
	return out, all[:len(cn)]
}
