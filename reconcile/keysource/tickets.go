package keysource

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// DefaultTicketKeysPath is where the fleet's TLS session ticket keys are kept: the KV v2
// secret edge/_fleet/session-tickets of the mount "secret".
const DefaultTicketKeysPath = "secret/edge/_fleet/session-tickets"

// TicketKeys are the fleet's TLS session ticket keys as kept in Vault, one KV v2 version per
// rotation. Servers encrypt with Current and decrypt with all three: Next is there so a
// server that has not yet seen a rotation decrypts the tickets of one that has, Previous so
// tickets issued just before a rotation still resume after it.
//
// In Vault they are fields "current", "next" and "previous" of the secret, each 32 bytes in
// standard base64.
type TicketKeys struct {
	Current, Next, Previous [32]byte
	// Version is the KV v2 version they were read from or written as.
	Version int
	// Created is when that version was written (Vault's clock).
	Created time.Time
}

// ErrTicketKeysChanged is returned by PutTicketKeys when another agent wrote a version
// first: read the keys again.
var ErrTicketKeysChanged = errors.New("session ticket keys: another agent wrote a newer version first")

// ErrNoTicketKeys is returned by TicketKeys when the secret does not exist yet (or its
// latest version is deleted or unreadable; TicketKeys then returns that Version): write
// the next version with check-and-set on it.
var ErrNoTicketKeys = errors.New("session ticket keys: none in vault")

// splitTicketPath splits "mount/path/to/secret" after the mount.
func splitTicketPath(p string) (mount, path string, err error) {
	mount, path, ok := strings.Cut(strings.Trim(p, "/"), "/")
	if !ok || mount == "" || strings.Trim(path, "/") == "" {
		return "", "", fmt.Errorf("session ticket keys path %q: want <kv v2 mount>/<path>", p)
	}
	return mount, strings.Trim(path, "/"), nil
}

// TicketKeysVersion reads the secret's metadata only (not the keys): its current version
// and when it was written. 0 when there is no such secret.
func (v *Vault) TicketKeysVersion(ctx context.Context, p string) (int, time.Time, error) {
	mount, path, err := splitTicketPath(p)
	if err != nil {
		return 0, time.Time{}, err
	}
	var md *api.KVMetadata
	err = v.withClient(ctx, func(c *api.Client) (err error) {
		md, err = c.KVv2(mount).GetMetadata(ctx, path)
		return err
	})
	if errors.Is(err, api.ErrSecretNotFound) || statusCode(err) == http.StatusNotFound {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("session ticket keys %s: metadata: %w", p, err)
	}
	created := md.UpdatedTime
	if vm, ok := md.Versions[fmt.Sprint(md.CurrentVersion)]; ok {
		created = vm.CreatedTime
	}
	return md.CurrentVersion, created, nil
}

// TicketKeys reads the latest version of the keys at p ("<mount>/<path>"). The error never
// contains key material.
func (v *Vault) TicketKeys(ctx context.Context, p string) (TicketKeys, error) {
	mount, path, err := splitTicketPath(p)
	if err != nil {
		return TicketKeys{}, err
	}
	var s *api.KVSecret
	err = v.withClient(ctx, func(c *api.Client) (err error) {
		s, err = c.KVv2(mount).Get(ctx, path)
		return err
	})
	if errors.Is(err, api.ErrSecretNotFound) {
		return TicketKeys{}, ErrNoTicketKeys
	}
	if err != nil {
		return TicketKeys{}, fmt.Errorf("session ticket keys %s: %w", p, err)
	}
	var k TicketKeys
	if s.VersionMetadata != nil {
		k.Version, k.Created = s.VersionMetadata.Version, s.VersionMetadata.CreatedTime
	}
	for name, dst := range map[string]*[32]byte{"current": &k.Current, "next": &k.Next, "previous": &k.Previous} {
		str, _ := s.Data[name].(string)
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil || len(b) != 32 {
			return k, fmt.Errorf("session ticket keys %s version %d: field %q is not 32 bytes of base64: %w", p, k.Version, name, ErrNoTicketKeys)
		}
		copy(dst[:], b)
	}
	return k, nil
}

// PutTicketKeys writes k as the version after cas (0: the secret must not exist yet) with
// KV v2 check-and-set and returns k with the Version and Created Vault gave it. If another
// writer was first it returns ErrTicketKeysChanged.
func (v *Vault) PutTicketKeys(ctx context.Context, p string, k TicketKeys, cas int) (TicketKeys, error) {
	mount, path, err := splitTicketPath(p)
	if err != nil {
		return k, err
	}
	data := map[string]any{
		"current":  base64.StdEncoding.EncodeToString(k.Current[:]),
		"next":     base64.StdEncoding.EncodeToString(k.Next[:]),
		"previous": base64.StdEncoding.EncodeToString(k.Previous[:]),
	}
	var out *api.KVSecret
	err = v.withClient(ctx, func(c *api.Client) (err error) {
		out, err = c.KVv2(mount).Put(ctx, path, data, api.WithCheckAndSet(cas))
		return err
	})
	if err != nil && statusCode(err) == http.StatusBadRequest && strings.Contains(err.Error(), "check-and-set") {
		return k, ErrTicketKeysChanged
	}
	if err != nil {
		return k, fmt.Errorf("session ticket keys %s: write version %d: %w", p, cas+1, err)
	}
	if out == nil || out.VersionMetadata == nil {
		return k, fmt.Errorf("session ticket keys %s: write: vault returned no version", p)
	}
	k.Version, k.Created = out.VersionMetadata.Version, out.VersionMetadata.CreatedTime
	return k, nil
}
