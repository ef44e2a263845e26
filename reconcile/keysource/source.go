// Package keysource reads the sites' private keys: the Source interface and its two
// implementations, HashiCorp Vault KV v2 (Vault) and a local key directory (Dir); the PEM
// checks both apply; and the Cache the agent keeps between reconciles, so that an unchanged
// key is read once and unpinned ones are refreshed slowly.
//
// In the pipeline it sits beside the git source: gitsource yields the config repo's files,
// schema validates them into sites that name their keys (schema.KeyRef), keysource reads
// those keys, and reconcile compiles sites and keys into what the edge serves. A new key
// source (another secret store) is one more Source here.
//
// Vault also reads basic-auth users (FetchUsers: the fields of a KV v2 secret, user name ->
// password hash) and writes one (PutUser, for edgectl auth set-user); UsersAsSource lets a
// Cache keep them on the same schedule as keys. Hashes, like keys, never appear in errors
// or logs.
//
// Key material never appears in errors, logs or anything but Key.PEM. Error messages keep
// the "reconcile:" prefix they had when this package was part of reconcile.
package keysource

import (
	"context"
	"crypto"
	"errors"

	"github.com/edgectl/edge/schema"
)

// Source fetches the PEM-encoded private key a site's declaration refers to.
// Implementations are safe for concurrent use. Returned errors never contain key material.
type Source interface {
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
	// Signer is PEM parsed (ParsePrivateKey), when the source checked it that way: the
	// compiler uses it rather than parse the key a second time. Nil: parse PEM.
	Signer crypto.Signer
}

// ErrNotFound is returned (wrapped) when a key reference names nothing in the source.
var ErrNotFound = errors.New("reconcile: key not found")
