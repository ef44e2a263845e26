package keysource

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"fmt"
	"io"
	"sync/atomic"
)

// p256Point and p256Scalar are the sizes of a P-256 public point (uncompressed, SEC 1) and
// private scalar.
const (
	p256Point  = 65
	p256Scalar = 32
)

// compactP256 is a P-256 private key held as its raw public point and scalar in one value
// with no pointer but parsed, itself nil until the key is first used. A parsed
// *ecdsa.PrivateKey is 7 heap objects and 7 pointers (the key, three big.Int and their
// words) that every collection marks: at 10,000 sites, 70,000 objects, most of them for
// sites no handshake asks for. This one is one object the collector scans 8 bytes of; the
// *ecdsa.PrivateKey is built the first time the key signs or its public key is asked
// (crypto/tls asks both in a handshake), then kept.
type compactP256 struct {
	parsed atomic.Pointer[ecdsa.PrivateKey] // first: the only pointer, so little to scan
	raw    [p256Point + p256Scalar]byte     // public point, then the scalar
}

// compactKey returns k as a compactP256 when it is a P-256 key, else k itself.
func compactKey(k crypto.Signer) crypto.Signer {
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return k
	}
	pt, err := ek.PublicKey.Bytes()
	if err != nil || len(pt) != p256Point {
		return k
	}
	d, err := ek.Bytes()
	if err != nil || len(d) != p256Scalar {
		return k
	}
	c := &compactP256{}
	copy(c.raw[:p256Point], pt)
	copy(c.raw[p256Point:], d)
	clear(d)
	return c
}

// key returns the parsed key, parsing it on first use; concurrent first uses may each parse
// it, and one of the (equal) results is kept.
func (c *compactP256) key() (*ecdsa.PrivateKey, error) {
	if k := c.parsed.Load(); k != nil {
		return k, nil
	}
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), c.raw[p256Point:])
	if err != nil {
		return nil, fmt.Errorf("P-256 private key: %w", err)
	}
	if !c.parsed.CompareAndSwap(nil, k) {
		k = c.parsed.Load()
	}
	return k, nil
}

// Public returns the key's *ecdsa.PublicKey (crypto.Signer).
func (c *compactP256) Public() crypto.PublicKey {
	k, err := c.key()
	if err != nil {
		// unreachable: raw came from a parsed key; a nil key makes any use of it fail
		return nil
	}
	return &k.PublicKey
}

// Sign signs digest with the key (crypto.Signer), as *ecdsa.PrivateKey does.
func (c *compactP256) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	k, err := c.key()
	if err != nil {
		return nil, err
	}
	return k.Sign(rand, digest, opts)
}

// PublicKeyBytes returns the public key as an uncompressed SEC 1 point (what
// ecdsa.PublicKey.Bytes returns) without parsing the key. The caller must not modify it.
func (c *compactP256) PublicKeyBytes() []byte { return c.raw[:p256Point:p256Point] }
