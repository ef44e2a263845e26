package reconcile

import (
	"crypto"

	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// keyRefName names a key reference in errors (keysource.RefName).
func keyRefName(ref schema.KeyRef) string { return keysource.RefName(ref) }

// parsePrivateKey reads a PEM private key as the key sources check it
// (keysource.ParsePrivateKey).
func parsePrivateKey(b []byte) (crypto.Signer, error) { return keysource.ParsePrivateKey(b) }
