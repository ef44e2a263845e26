package reconcile

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"testing"

	"github.com/edgectl/edge/reconcile/keysource"
)

// TestKeyMatches: a private key matches the SubjectPublicKeyInfo of its own public key,
// for every key type a certificate holds, and no other key: another key of the same type,
// a key of the same type on another curve, a key of another type. An RSA key whose
// algorithm parameters are absent (not NULL) still matches; a malformed SPKI matches none.
func TestKeyMatches(t *testing.T) {
	p256a, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p256b, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaA, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaB, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edA, _ := ed25519.GenerateKey(rand.Reader)
	_, edB, _ := ed25519.GenerateKey(rand.Reader)
	keys := map[string]crypto.Signer{"p256a": p256a, "p256b": p256b, "p384": p384, "rsaA": rsaA, "rsaB": rsaB, "edA": edA, "edB": edB}
	for certName, certKey := range keys {
		spki, err := x509.MarshalPKIXPublicKey(certKey.Public())
		if err != nil {
			t.Fatal(err)
		}
		for keyName, key := range keys {
			if got, want := keyMatches(spki, key.Public()), certName == keyName; got != want {
				t.Errorf("certificate of %s, key %s: match %v; want %v", certName, keyName, got, want)
			}
		}
	}
	noParams, err := asn1.Marshal(struct {
		Alg pkix.AlgorithmIdentifier
		Key asn1.BitString
	}{pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}},
		asn1.BitString{Bytes: x509.MarshalPKCS1PublicKey(&rsaA.PublicKey), BitLength: 8 * len(x509.MarshalPKCS1PublicKey(&rsaA.PublicKey))}})
	if err != nil {
		t.Fatal(err)
	}
	if !keyMatches(noParams, rsaA.Public()) || keyMatches(noParams, rsaB.Public()) {
		t.Error("RSA SPKI without parameters: want a match for its own key only")
	}
	good, _ := x509.MarshalPKIXPublicKey(p256a.Public())
	for _, bad := range [][]byte{nil, good[:len(good)-1], append(append([]byte(nil), good...), 0)} {
		if keyMatches(bad, p256a.Public()) {
			t.Errorf("malformed SPKI of %d bytes matches", len(bad))
		}
	}
}

// BenchmarkKeyMatches: matching a compiled site's key against its certificate's SPKI (once
// per site and key read).
func BenchmarkKeyMatches(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	spki, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !keyMatches(spki, k.Public()) {
			b.Fatal("no match")
		}
	}
}

// TestSignerMatchesCompact: a compact P-256 key (keysource) matches its certificate's SPKI
// and no other, without being parsed for it.
func TestSignerMatchesCompact(t *testing.T) {
	a, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(a)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := keysource.ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ca.(ecPointKey); !ok {
		t.Fatalf("ParsePrivateKey(P-256) = %T; want an ecPointKey", ca)
	}
	spkiA, _ := x509.MarshalPKIXPublicKey(a.Public())
	spkiB, _ := x509.MarshalPKIXPublicKey(b.Public())
	if !signerMatches(spkiA, ca) || signerMatches(spkiB, ca) || !signerMatches(spkiB, b) {
		t.Fatal("signerMatches: want a match with the key's own SPKI only")
	}
}
