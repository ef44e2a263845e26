package keysource

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/edgectl/edge/schema"
)

// RefName names a key reference for errors and logs: mount/path#field, plus @vN when
// pinned. It never includes key material.
func RefName(ref schema.KeyRef) string {
	s := strings.Trim(ref.Mount, "/") + "/" + strings.Trim(ref.Path, "/") + "#" + ref.Field
	if ref.Version > 0 {
		s += fmt.Sprintf("@v%d", ref.Version)
	}
	return s
}

// checkKeyPEM reports whether b holds a usable PEM private key, as the compiler reads it
// (see ParsePrivateKey), and returns it parsed. Its errors describe the shape of b (never its content) so they
// are safe to log.
func checkKeyPEM(b []byte) (crypto.Signer, error) {
	return ParsePrivateKey(b)
}

// ParsePrivateKey reads the first PEM private key block of b (PKCS #8, PKCS #1 RSA or SEC 1
// EC, as crypto/tls accepts). Its errors never quote b. A P-256 key comes in a compact form
// that becomes an *ecdsa.PrivateKey on first use (see compactP256); other keys as
// crypto/x509 parses them.
func ParsePrivateKey(b []byte) (crypto.Signer, error) {
	for blocks := 0; ; blocks++ {
		var block *pem.Block
		if block, b = pem.Decode(b); block == nil {
			if blocks == 0 {
				return nil, errors.New("no PEM block found (want a PEM private key)")
			}
			return nil, errors.New("no PEM private key block found")
		}
		if block.Type != "PRIVATE KEY" && !strings.HasSuffix(block.Type, " PRIVATE KEY") {
			continue
		}
		if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			signer, ok := k.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("PKCS #8 key of type %T cannot sign", k)
			}
			return compactKey(signer), nil
		}
		if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
			return k, nil
		}
		if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
			return compactKey(k), nil
		}
		return nil, fmt.Errorf("PEM block %q is not a PKCS #8, PKCS #1 or SEC 1 private key", block.Type)
	}
}
