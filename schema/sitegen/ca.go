// Package sitegen generates config repos for tests, benchmarks and the demo: a private CA,
// leaf certificates issued by it, site declarations, and optionally the private keys in a
// local key directory.
//
// Everything it makes is for testing only. Typical use:
//
//	repo, err := sitegen.WriteRepo(dir, 100, sitegen.Options{KeyDir: keyDir})
//	// dir now holds edge.cue, sites/*.cue and certs/*.pem; keyDir the keys;
//	// repo.CA.Pool() verifies the served certificates.
package sitegen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
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

// DefaultValidity is how long certificates are valid when no expiry is given: 20 years, so
// committed examples stay valid.
const DefaultValidity = 20 * 365 * 24 * time.Hour

// CA is a private ECDSA certificate authority.
type CA struct {
	// Cert is the self-signed CA certificate.
	Cert *x509.Certificate
	// CertPEM is Cert in PEM form.
	CertPEM []byte
	key     crypto.Signer
}

// Leaf is a certificate issued by a CA with its private key.
type Leaf struct {
	// Cert is the parsed leaf certificate.
	Cert *x509.Certificate
	// ChainPEM is the leaf followed by the CA certificate, in PEM form: the content of a
	// site's certificate file.
	ChainPEM []byte
	// KeyPEM is the private key in PKCS#8 PEM form. Secret: never log it.
	KeyPEM []byte
}

// NewCA makes a CA valid from an hour ago for DefaultValidity.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sitegen: ca key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "edge test CA", Organization: []string{"edge sitegen"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(DefaultValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("sitegen: ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("sitegen: ca certificate: %w", err)
	}
	return &CA{Cert: cert, CertPEM: pemCert(der), key: key}, nil
}

// Pool returns a pool holding only the CA certificate, for clients that verify leaves.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue issues a server certificate for hosts (DNS names, "*." wildcards or IP addresses)
// with a key of type kt (zero means ECDSA), valid from an hour ago until notAfter (zero means
// DefaultValidity from now). A notAfter in the past yields an expired certificate.
func (ca *CA) Issue(hosts []string, kt KeyType, notAfter time.Time) (*Leaf, error) {
	var key crypto.Signer
	var err error
	switch kt {
	case ECDSA, "":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("sitegen: unknown key type %q; want %q or %q", kt, ECDSA, RSA)
	}
	if err != nil {
		return nil, fmt.Errorf("sitegen: leaf key: %w", err)
	}
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
	if kt == RSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("sitegen: leaf certificate for %v: %w", hosts, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("sitegen: leaf certificate for %v: %w", hosts, err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("sitegen: leaf key: %w", err)
	}
	chain := append(pemCert(der), ca.CertPEM...)
	return &Leaf{
		Cert:     cert,
		ChainPEM: chain,
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
	}, nil
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}
