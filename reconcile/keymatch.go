package reconcile

import (
	"bytes"
	"crypto"
	"crypto/x509"
	encasn1 "encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// keyMatches reports whether pub is the public key of the DER SubjectPublicKeyInfo spki
// (a certificate's): the same algorithm and the same key bits. Comparing encodings, not
// parsed keys, spares the certificate's parsed public key (kept by nobody: see
// site.CertLeaf) and a parse per compile. The key bits are canonical for every key type a
// certificate may hold (an uncompressed EC point, a DER RSAPublicKey, an Ed25519 key);
// the algorithm parameters are not compared (an RSA key's may be NULL or absent), the
// key's curve is implied by its point's length and checked by the parse that made pub.
func keyMatches(spki []byte, pub crypto.PublicKey) bool {
	mine, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return false
	}
	certOID, certBits, ok1 := spkiParts(spki)
	keyOID, keyBits, ok2 := spkiParts(mine)
	return ok1 && ok2 && bytes.Equal(certOID, keyOID) && certBits.BitLength == keyBits.BitLength && bytes.Equal(certBits.Bytes, keyBits.Bytes)
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
