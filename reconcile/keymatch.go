package reconcile

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	encasn1 "encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// The SubjectPublicKeyInfo algorithm OIDs (RFC 3279, RFC 5480, RFC 8410), DER contents.
var (
	oidRSA     = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01} // 1.2.840.113549.1.1.1
	oidECDSA   = []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01}             // 1.2.840.10045.2.1
	oidEd25519 = []byte{0x2b, 0x65, 0x70}                                     // 1.3.101.112
)

// keyMatches reports whether pub is the public key of the DER SubjectPublicKeyInfo spki
// (a certificate's): the same algorithm and the same key bits. Comparing encodings, not
// parsed keys, spares the certificate's parsed public key (kept by nobody: see
// site.CertLeaf). The key bits are canonical for every key type a certificate may hold
// (an uncompressed EC point, a DER RSAPublicKey, an Ed25519 key); the algorithm
// parameters are not compared (an RSA key's may be NULL or absent; an EC key's curve is
// implied by its point's length and checked by the parse that made pub).
func keyMatches(spki []byte, pub crypto.PublicKey) bool {
	wantOID, want, ok := keyBits(pub)
	return ok && spkiIs(spki, wantOID, want)
}

// ecPointKey is a private key that gives its public key as an uncompressed EC point
// without being parsed (keysource's compact P-256 keys: asking Public would parse it).
type ecPointKey interface{ PublicKeyBytes() []byte }

// signerMatches is keyMatches for priv's public key, read without parsing priv when it is
// an ecPointKey.
func signerMatches(spki []byte, priv crypto.Signer) bool {
	if k, ok := priv.(ecPointKey); ok {
		return spkiIs(spki, oidECDSA, k.PublicKeyBytes())
	}
	return keyMatches(spki, priv.Public())
}

// spkiIs reports whether spki holds the algorithm oid and the key bits want.
func spkiIs(spki, oid, want []byte) bool {
	got, bits, ok := spkiParts(spki)
	return ok && bits.BitLength == 8*len(bits.Bytes) && bytes.Equal(got, oid) && bytes.Equal(bits.Bytes, want)
}

// keyBits returns the SubjectPublicKeyInfo algorithm OID and key bits of pub, without the
// ASN.1 marshalling of x509.MarshalPKIXPublicKey for the common key types.
func keyBits(pub crypto.PublicKey) (oid, bits []byte, ok bool) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		return oidECDSA, b, err == nil
	case ed25519.PublicKey:
		return oidEd25519, k, true
	case *rsa.PublicKey:
		return oidRSA, x509.MarshalPKCS1PublicKey(k), true
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, false
	}
	o, b, ok := spkiParts(der)
	return o, b.Bytes, ok
}

// spkiParts returns the algorithm OID (its DER contents) and the key bits of a DER
// SubjectPublicKeyInfo.
func spkiParts(der []byte) (oid []byte, bits encasn1.BitString, ok bool) {
	in := cryptobyte.String(der)
	var spki, alg, algOID cryptobyte.String
	if !in.ReadASN1(&spki, asn1.SEQUENCE) || !in.Empty() ||
		!spki.ReadASN1(&alg, asn1.SEQUENCE) || !alg.ReadASN1(&algOID, asn1.OBJECT_IDENTIFIER) ||
		!spki.ReadASN1BitString(&bits) || !spki.Empty() {
		return nil, bits, false
	}
	return algOID, bits, true
}
