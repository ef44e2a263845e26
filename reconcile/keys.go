package reconcile

import (
	"context"
	"errors"

	"github.com/edgectl/edge/schema"
)

// KeySource fetches the PEM-encoded private key a site's declaration refers to.
// Implementations are safe for concurrent use. Returned errors never contain key material.
type KeySource interface {
	// Fetch returns the key for ref. When ref.Version is zero the latest version is read.
	Fetch(ctx context.Context, ref schema.KeyRef) (Key, error)
}

// Key is a fetched private key. PEM is secret: never log, print or persist it.
type Key struct {
	// PEM is the private key in PEM form (PKCS#8, PKCS#1 or SEC 1).
	PEM []byte
	// Version is the version read from the source (the KV v2 version for Vault; 0 for a
	// source without versions).
	Version int
}

// ErrKeyNotFound is returned (wrapped) when a key reference names nothing in the source.
var ErrKeyNotFound = errors.New("reconcile: key not found")
