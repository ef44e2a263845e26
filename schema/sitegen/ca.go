package sitegen

import "github.com/edgectl/edge/tests/testca"

// The certificate authority is tests/testca's; these names let callers of sitegen say
// sitegen.CA, sitegen.NewCA, sitegen.ECDSA without importing both packages.

// CA is the private certificate authority issuing a repo's certificates.
type CA = testca.CA

// Leaf is a certificate issued by a CA with its private key.
type Leaf = testca.Leaf

// KeyType is the kind of private key of an issued certificate; the zero value means ECDSA.
type KeyType = testca.KeyType

// Key types.
const (
	ECDSA = testca.ECDSA // P-256
	RSA   = testca.RSA   // 2048 bits
)

// DefaultValidity is how long certificates are valid when no expiry is given.
const DefaultValidity = testca.DefaultValidity

// NewCA makes a CA valid from an hour ago for DefaultValidity (testca.New).
func NewCA() (*CA, error) { return testca.New() }
