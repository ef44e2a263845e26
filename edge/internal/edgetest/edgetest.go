// Package edgetest provides test fixtures for package edge: certificates from a private CA
// (tests/testca) with Leaf filled in, and tiny HTTP and TCP backends. It imports nothing of
// edge, so both the package's internal tests and its external tests can use it.
package edgetest

import (
	"crypto"
	"crypto/tls"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testca"
)

// KeyType selects the key of an issued certificate.
type KeyType = testca.KeyType

// Key types.
const (
	ECDSA = testca.ECDSA // P-256
	RSA   = testca.RSA   // 2048 bits
)

// CA is a private certificate authority for tests: a testca.CA whose methods fail the test
// instead of returning errors.
type CA struct {
	*testca.CA
}

// rsaKey is the one RSA key of the process, generated on first use.
var rsaKey = sync.OnceValues(func() (crypto.Signer, error) { return testca.NewKey(testca.RSA) })

// NewCA returns a fresh CA.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	return &CA{ca}
}

// Issue returns a server certificate for names (DNS names, wildcards or IPs) with Leaf
// filled in, valid until notAfter (zero: 24h from now). RSA keys are generated once per
// process and reused, to keep tests fast.
func (ca *CA) Issue(t testing.TB, kt KeyType, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	newKey := func() (crypto.Signer, error) { return testca.NewKey(kt) }
	if kt == RSA {
		newKey = rsaKey
	}
	key, err := newKey()
	if err != nil {
		t.Fatalf("edgetest: key: %v", err)
	}
	if notAfter.IsZero() {
		notAfter = time.Now().Add(24 * time.Hour)
	}
	leaf, err := ca.IssueKey(names, key, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return leaf.TLS
}
