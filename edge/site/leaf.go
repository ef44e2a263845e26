package site

import (
	"crypto/x509"
	"net"
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

// NewCertLeaf returns the CertLeaf of a parsed leaf certificate. It shares c's slices.
func NewCertLeaf(c *x509.Certificate) *CertLeaf {
	return &CertLeaf{
		DNSNames:      c.DNSNames,
		IPAddresses:   c.IPAddresses,
		CommonName:    c.Subject.CommonName,
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
