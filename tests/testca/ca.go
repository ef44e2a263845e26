// Package testca is a private certificate authority for tests, benchmarks and the demo: it
// issues server certificates (ECDSA P-256 by default, or RSA 2048) for given host names and
// validity, and client certificates (IssueClient), and returns each as PEM (the content of a site's certificate and key files) and
// as a tls.Certificate with Leaf filled in (what a server serves).
//
// It uses the standard library only, so every package's tests can use it: the data plane's
// (through edge/internal/edgetest), schema/sitegen's config repos, the end-to-end tests. It
// lives outside tests/ because `edgectl demo` issues its certificates with it, and the
// release build's context (examples/deploy/Dockerfile.dockerignore) leaves tests/ out.
// Everything it makes is for testing and demonstration only.
//
//	ca, err := testca.New()
//	leaf, err := ca.Issue([]string{"a.example.test"}, testca.ECDSA, time.Time{})
//	// leaf.ChainPEM, leaf.KeyPEM: files; leaf.TLS: a tls.Certificate; ca.Pool(): for clients.
package testca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
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

// New makes a CA (common name "edge test CA") valid from an hour ago for DefaultValidity.
func New() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testca: ca key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "edge test CA", Organization: []string{"edge testca"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(DefaultValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("testca: ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testca: ca certificate: %w", err)
	}
	return &CA{Cert: cert, CertPEM: pemCert(der), key: key}, nil
}

// Pool returns a pool holding only the CA certificate, for clients that verify leaves.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
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
