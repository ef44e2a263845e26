package keysource

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"
)

// p256PEM returns a new P-256 key and its PEM, as PKCS #8 or SEC 1.
func p256PEM(t *testing.T, sec1 bool) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, typ := []byte(nil), "PRIVATE KEY"
	if sec1 {
		der, err = x509.MarshalECPrivateKey(k)
		typ = "EC PRIVATE KEY"
	} else {
		der, err = x509.MarshalPKCS8PrivateKey(k)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// TestCompactP256: a parsed P-256 key (PKCS #8 or SEC 1) is held compact, unparsed until
// used; its point is the key's; it signs what its public key verifies, and concurrent first
// uses agree on one parsed key.
func TestCompactP256(t *testing.T) {
	for _, sec1 := range []bool{false, true} {
		want, b := p256PEM(t, sec1)
		s, err := ParsePrivateKey(b)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := s.(*compactP256)
		if !ok {
			t.Fatalf("sec1 %v: ParsePrivateKey = %T; want *compactP256", sec1, s)
		}
		pt, _ := want.PublicKey.Bytes()
		if string(c.PublicKeyBytes()) != string(pt) || c.parsed.Load() != nil {
			t.Fatalf("sec1 %v: PublicKeyBytes differ from the key's point, or the key was parsed", sec1)
		}
		pubs := make([]crypto.PublicKey, 8)
		var wg sync.WaitGroup
		for i := range pubs {
			wg.Go(func() { pubs[i] = c.Public() })
		}
		wg.Wait()
		for _, p := range pubs {
			if p != pubs[0] || !want.PublicKey.Equal(p) {
				t.Fatalf("sec1 %v: Public = %v; want the one key %v", sec1, p, &want.PublicKey)
			}
		}
		digest := sha256.Sum256([]byte("hello"))
		sig, err := c.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil || !ecdsa.VerifyASN1(&want.PublicKey, digest[:], sig) {
			t.Fatalf("sec1 %v: Sign = %v; want a signature the key verifies", sec1, err)
		}
	}
}

// TestCompactKeyOthers: keys other than P-256 stay as crypto/x509 parses them.
func TestCompactKeyOthers(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if got := compactKey(k); got != crypto.Signer(k) {
		t.Fatalf("compactKey(P-384) = %T; want the key itself", got)
	}
}
