package keysource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/schema"
)

// Users are the basic-auth users of a KV v2 secret: each field is a user name, its value
// that user's password hash. Hashes are secret: never log, print or persist them.
type Users struct {
	// Hashes maps user name -> password hash.
	Hashes map[string]string
	// Version is the KV v2 version read.
	Version int
}

// UsersSource reads the basic-auth users of a secret. Vault is the one implementation.
type UsersSource interface {
	// FetchUsers reads the latest version of the secret ref.
	FetchUsers(ctx context.Context, ref site.SecretRef) (Users, error)
}

// Bounds on a users secret, so that a secret cannot make the agent or the data plane hold
// what it was never meant to.
const (
	maxUsers      = 10000
	maxUserName   = 256
	maxUserHash   = 512
	usersRefField = "*users*" // the Field of the KeyRef a Cache keeps users under
)

// FetchUsers reads the basic-auth users of secret ref (latest version). Every field must
// be a string. Errors name the secret and the user, never a hash.
func (v *Vault) FetchUsers(ctx context.Context, ref site.SecretRef) (Users, error) {
	mount, path := strings.Trim(ref.Mount, "/"), strings.Trim(ref.Path, "/")
	if mount == "" || path == "" {
		return Users{}, fmt.Errorf("users %s: empty mount or path", ref)
	}
	data, version, err := v.readKV(ctx, mount, path, 0)
	if err != nil {
		return Users{}, fmt.Errorf("users %s: %w", ref, err)
	}
	u := Users{Hashes: make(map[string]string, len(data)), Version: version}
	if len(data) > maxUsers {
		return Users{}, fmt.Errorf("users %s: %d users; at most %d", ref, len(data), maxUsers)
	}
	for name, raw := range data {
		h, ok := raw.(string)
		switch {
		case !ok:
			return Users{}, fmt.Errorf("users %s (version %d): user %q: the value is a %T, want a password hash string", ref, u.Version, name, raw)
		case name == "" || len(name) > maxUserName || strings.ContainsAny(name, ":\x00\r\n"):
			return Users{}, fmt.Errorf("users %s (version %d): user name %q: want 1 to %d characters without ':' or control characters", ref, u.Version, name, maxUserName)
		case len(h) > maxUserHash:
			return Users{}, fmt.Errorf("users %s (version %d): user %q: the hash is longer than %d bytes", ref, u.Version, name, maxUserHash)
		}
		u.Hashes[name] = h
	}
	return u, nil
}

// PutUser sets user's password hash in the secret ref, keeping the other users: a
// check-and-set write on the version it read, so a concurrent writer makes it fail rather
// than be overwritten. It returns the new version.
func (v *Vault) PutUser(ctx context.Context, ref site.SecretRef, user, hash string) (int, error) {
	mount, path := strings.Trim(ref.Mount, "/"), strings.Trim(ref.Path, "/")
	if mount == "" || path == "" || user == "" || strings.ContainsAny(user, ":\x00\r\n") {
		return 0, fmt.Errorf("users %s: want a mount, a path and a user name without ':'", ref)
	}
	version, err := v.writeKVField(ctx, mount, path, user, hash)
	if err != nil {
		return 0, fmt.Errorf("users %s: write user %q: %w", ref, user, err)
	}
	return version, nil
}

// UsersKeyRef is the reference a Cache keeps the users of ref under (see UsersAsSource).
func UsersKeyRef(ref site.SecretRef) schema.KeyRef {
	return schema.KeyRef{Mount: ref.Mount, Path: ref.Path, Field: usersRefField}
}

// UsersAsSource makes u a Source for a Cache of users secrets: the Key of UsersKeyRef(ref)
// holds the users of ref, encoded (DecodeUsers reads them back), so that the Cache's
// schedule (read once, refresh, retry with backoff, keep the last good) serves users
// secrets as it serves keys.
func UsersAsSource(u UsersSource) Source { return usersSource{u} }

type usersSource struct{ u UsersSource }

func (s usersSource) Fetch(ctx context.Context, ref schema.KeyRef) (Key, error) {
	if ref.Field != usersRefField {
		return Key{}, fmt.Errorf("users %s/%s: not a users reference", ref.Mount, ref.Path)
	}
	u, err := s.u.FetchUsers(ctx, site.SecretRef{Mount: ref.Mount, Path: ref.Path})
	if err != nil {
		return Key{}, err
	}
	b, err := json.Marshal(u.Hashes) // sorted keys: equal users, equal bytes
	if err != nil {
		return Key{}, fmt.Errorf("users %s/%s: %w", ref.Mount, ref.Path, err)
	}
	return Key{PEM: b, Version: u.Version}, nil
}

// DecodeUsers reads back the users of a Key made by UsersAsSource.
func DecodeUsers(k Key) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal(k.PEM, &m); err != nil {
		return nil, errors.New("users: undecodable cache entry")
	}
	return m, nil
}
