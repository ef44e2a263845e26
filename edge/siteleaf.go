package edge

import (
	"crypto/tls"
	"crypto/x509"

	"github.com/edgectl/edge/edge/site"
)

// CertLeaf returns what the data plane needs of the leaf of certificate i: Leaves[i] if
// set, else the facts of Certificates[i].Leaf; nil if neither is.
func (s *Site) CertLeaf(i int) *site.CertLeaf {
	if i < len(s.Leaves) && s.Leaves[i] != nil {
		return s.Leaves[i]
	}
	if i < len(s.Certificates) && s.Certificates[i].Leaf != nil {
		return site.NewCertLeaf(s.Certificates[i].Leaf)
	}
	return nil
}

// servingCerts returns the certificates the handshakes of st use: st.Certificates, or,
// when there are several to choose from (ClientHelloInfo.SupportsCertificate, which
// parses a nil Leaf on every call) and one has no Leaf, copies whose Leaf holds the names
// from Leaves (all SupportsCertificate reads of it).
func servingCerts(st *Site) []tls.Certificate {
	if len(st.Certificates) < 2 {
		return st.Certificates
	}
	out := st.Certificates
	for i := range st.Certificates {
		l := st.CertLeaf(i)
		if st.Certificates[i].Leaf != nil || l == nil {
			continue
		}
		if &out[0] == &st.Certificates[0] {
			out = append([]tls.Certificate(nil), st.Certificates...)
		}
		out[i].Leaf = &x509.Certificate{DNSNames: l.DNSNames, IPAddresses: l.IPAddresses, NotBefore: l.NotBefore, NotAfter: l.NotAfter,
			PublicKeyAlgorithm: l.KeyAlgorithm, Raw: st.Certificates[i].Certificate[0]}
	}
	return out
}
