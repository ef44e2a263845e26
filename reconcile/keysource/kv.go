package keysource

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/vault/api"
)

// readKV reads the KV v2 secret mount/path, version version (0: the latest), and returns
// its data and version. A missing secret or version, and a deleted or destroyed one, wrap
// ErrNotFound. Errors name neither the mount nor the path: callers add the reference.
func (v *Vault) readKV(ctx context.Context, mount, path string, version int) (map[string]any, int, error) {
	var s *api.KVSecret
	err := v.withClient(ctx, func(c *api.Client) (err error) {
		kv := c.KVv2(mount)
		if version > 0 {
			s, err = kv.GetVersion(ctx, path, version)
		} else {
			s, err = kv.Get(ctx, path)
		}
		return err
	})
	if errors.Is(err, api.ErrSecretNotFound) {
		return nil, 0, fmt.Errorf("no such secret or version in vault: %w", ErrNotFound)
	}
	if err != nil {
		return nil, 0, err
	}
	got := 0
	if s.VersionMetadata != nil {
		got = s.VersionMetadata.Version
	}
	if s.Data == nil {
		return nil, got, fmt.Errorf("version %d is deleted or destroyed: %w", got, ErrNotFound)
	}
	return s.Data, got, nil
}

// writeKVField sets field of the KV v2 secret mount/path to value, keeping its other
// fields: a check-and-set write on the version it read, so a concurrent writer makes it
// fail rather than be overwritten. It returns the new version. Errors never quote value.
func (v *Vault) writeKVField(ctx context.Context, mount, path, field, value string) (int, error) {
	var out *api.KVSecret
	err := v.withClient(ctx, func(c *api.Client) error {
		kv := c.KVv2(mount)
		data := map[string]any{}
		cas := 0
		cur, err := kv.Get(ctx, path)
		switch {
		case errors.Is(err, api.ErrSecretNotFound):
		case err != nil:
			return err
		default:
			if cur.VersionMetadata != nil {
				cas = cur.VersionMetadata.Version
			}
			for k, val := range cur.Data {
				data[k] = val
			}
		}
		data[field] = value
		out, err = kv.Put(ctx, path, data, api.WithCheckAndSet(cas))
		return err
	})
	if err != nil {
		return 0, err
	}
	if out == nil || out.VersionMetadata == nil {
		return 0, errors.New("vault returned no version")
	}
	return out.VersionMetadata.Version, nil
}
