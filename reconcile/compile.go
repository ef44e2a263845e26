package reconcile

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// CompileSite turns one validated site declaration and its private key into the value the
// data plane serves: the declaration's site.Site, shared as it is, with the certificate
// and its key attached. The key must match the certificate. Errors name the site and its
// file and never contain key material. A passthrough site has no certificate and no key:
// it compiles to the declaration alone, and key is ignored.
func CompileSite(s *schema.Site, key keysource.Key, commit string) (*edge.Site, error) {
	if s.Passthrough != nil {
		return &edge.Site{Site: s.Site, Commit: commit}, nil
	}
	cert, err := certificate(s.Cert, key)
	if err != nil {
		// The errors describe the mismatch or the parse failure, never the key bytes.
		return nil, fmt.Errorf("site %s (%s): certificate %s with key %s: %w", s.Name, s.File, s.Cert.File, keysource.RefName(s.Key), err)
	}
	c := &compiled{Site: edge.Site{Site: s.Site, Commit: commit}, cert: [1]tls.Certificate{cert}}
	c.Certificates = c.cert[:1:1]
	if cert.Leaf == nil {
		c.leaf[0] = s.Cert.Leaf
		c.Leaves = c.leaf[:1:1]
	}
	return &c.Site, nil
}

// compiled is an edge.Site with the arrays behind its one certificate and leaf: a compiled
// site is one allocation, not three (at 10,000 sites, 20,000 fewer objects each collection
// marks). The arrays' capacity is their length, so an append copies them out.
type compiled struct {
	edge.Site
	cert [1]tls.Certificate
	leaf [1]*site.CertLeaf
}

// certificate pairs the chain with the PEM private key, checking that the key belongs to
// the leaf. It uses the chain the schema already parsed (its DER and CertLeaf, shared,
// never modified), so a site costs one parse of its certificates, not two, and keeps no
// parsed x509.Certificate (Leaf is nil: the data plane reads CertLeaf, see edge.Site);
// a Cert without a parsed chain is parsed here (crypto/tls.X509KeyPair, Leaf set). The key
// is key.Signer when the key source parsed it already (one parse per key read, not two),
// else key.PEM parsed here.
func certificate(c schema.Cert, key keysource.Key) (tls.Certificate, error) {
	if c.Leaf == nil || len(c.DER) == 0 {
		cert, err := tls.X509KeyPair(c.PEM, key.PEM)
		if err == nil && cert.Leaf == nil {
			err = errors.New("no leaf certificate")
		}
		return cert, err
	}
	priv := key.Signer
	if priv == nil {
		var err error
		if priv, err = keysource.ParsePrivateKey(key.PEM); err != nil {
			return tls.Certificate{}, err
		}
	}
	if !signerMatches(c.Leaf.PublicKeyInfo, priv) {
		return tls.Certificate{}, errors.New("private key does not match the certificate's public key")
	}
	return tls.Certificate{Certificate: c.DER, PrivateKey: priv}, nil
}
