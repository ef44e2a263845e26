package testca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"time"
)

// KeyType is the kind of private key of an issued certificate.
type KeyType string

// Key types. The zero value means ECDSA.
const (
	ECDSA KeyType = "ecdsa" // P-256
	RSA   KeyType = "rsa"   // 2048 bits
)

// Leaf is a certificate issued by a CA with its private key.
type Leaf struct {
	// Cert is the parsed leaf certificate.
	Cert *x509.Certificate
	// ChainPEM is the leaf followed by the CA certificate, in PEM form: the content of a
	// site's certificate file.
	ChainPEM []byte
	// KeyPEM is the private key in PKCS#8 PEM form. Secret: never log it.
	KeyPEM []byte
	// TLS is the chain (leaf, CA) with its private key, Leaf filled in: what a server serves.
	TLS tls.Certificate
}

// NewKey generates a private key of type kt (zero means ECDSA). RSA keys take a while to
// generate: tests that need many may reuse one with IssueKey.
func NewKey(kt KeyType) (crypto.Signer, error) {
	var key crypto.Signer
	var err error
	switch kt {
	case ECDSA, "":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("testca: unknown key type %q; want %q or %q", kt, ECDSA, RSA)
	}
	if err != nil {
		return nil, fmt.Errorf("testca: %s key: %w", kt, err)
	}
	return key, nil
}

// Issue issues a server certificate (extended key usage serverAuth) for hosts (DNS names, "*." wildcards or IP addresses)
// with a new key of type kt (zero means ECDSA), valid from an hour ago until notAfter (zero
// means DefaultValidity from now). A notAfter in the past yields an expired certificate.
func (ca *CA) Issue(hosts []string, kt KeyType, notAfter time.Time) (*Leaf, error) {
	key, err := NewKey(kt)
	if err != nil {
		return nil, err
	}
	return ca.IssueKey(hosts, key, notAfter)
}

// IssueKey is Issue with a given private key (ECDSA or RSA), e.g. one shared by many
// certificates to save RSA key generation.
func (ca *CA) IssueKey(hosts []string, key crypto.Signer, notAfter time.Time) (*Leaf, error) {
	tmpl := leafTemplate(hosts, notAfter)
	if _, ok := key.(*rsa.PrivateKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	return ca.sign(tmpl, key)
}

// IssueClient issues a client certificate (extended key usage clientAuth only, what a
// server verifying clients requires) for the common name name, with a new key of type kt
// (zero means ECDSA), valid until notAfter (zero means DefaultValidity from now).
func (ca *CA) IssueClient(name string, kt KeyType, notAfter time.Time) (*Leaf, error) {
	key, err := NewKey(kt)
	if err != nil {
		return nil, err
	}
	tmpl := leafTemplate(nil, notAfter)
	tmpl.Subject.CommonName = name
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return ca.sign(tmpl, key)
}

// sign issues the certificate tmpl for key.
func (ca *CA) sign(tmpl *x509.Certificate, key crypto.Signer) (*Leaf, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("testca: certificate for %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testca: certificate for %q: %w", tmpl.Subject.CommonName, err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("testca: leaf key: %w", err)
	}
	return &Leaf{
		Cert:     cert,
		ChainPEM: append(pemCert(der), ca.CertPEM...),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
		TLS:      tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key, Leaf: cert},
	}, nil
}

// leafTemplate is a server certificate for hosts (the first is the common name) valid until
// notAfter, from an hour ago or, for a notAfter that early, from a day before notAfter.
func leafTemplate(hosts []string, notAfter time.Time) *x509.Certificate {
	now := time.Now()
	if notAfter.IsZero() {
		notAfter = now.Add(DefaultValidity)
	}
	notBefore := now.Add(-time.Hour)
	if !notAfter.After(notBefore) {
		notBefore = notAfter.Add(-24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if len(hosts) > 0 {
		tmpl.Subject.CommonName = hosts[0]
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return tmpl
}
