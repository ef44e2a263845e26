package keysource_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/tests/testenv"
)

// TestVaultUsers: the shipped policy lets the agent read users secrets below edge-auth/ and
// write none; FetchUsers refuses what is not a users secret without showing a hash; a Cache
// over UsersAsSource yields the users back.
func TestVaultUsers(t *testing.T) {
	hcl, err := os.ReadFile("../../examples/vault/edge-policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	v := testenv.StartVault(t)
	v.WritePolicy(t, "edge-keys", string(hcl))
	v.PutKV(t, "secret", "edge-auth/staging", map[string]any{"alice": "$2a$10$hashhashhash", "bob": "$argon2id$v=19$x"})
	v.PutKV(t, "secret", "edge-auth/numbers", map[string]any{"carol": 42})
	v.PutKV(t, "secret", "edge-auth/colon", map[string]any{"a:b": "$2a$10$secret-hash-value"})
	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: v.Addr, Token: v.CreateToken(t, []string{"edge-keys"}, nil)})
	ctx := context.Background()
	staging := site.SecretRef{Mount: "secret", Path: "edge-auth/staging"}

	u, err := vk.FetchUsers(ctx, staging)
	if err != nil || u.Version != 1 || len(u.Hashes) != 2 || u.Hashes["alice"] != "$2a$10$hashhashhash" {
		t.Fatalf("FetchUsers with the edge policy: %+v, %v", u, err)
	}
	if _, err := vk.PutUser(ctx, staging, "mallory", "$2a$10$x"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("PutUser with the edge policy: %v; want 403", err)
	}
	for path, want := range map[string]string{"edge-auth/numbers": `user "carol": the value is a json.Number`, "edge-auth/colon": `user name "a:b"`, "edge-auth/none": "no such secret"} {
		_, err := vk.FetchUsers(ctx, site.SecretRef{Mount: "secret", Path: path})
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret-hash") {
			t.Errorf("FetchUsers %s: %v; want an error with %q and no hash", path, err, want)
		}
	}
	if _, err := vk.FetchUsers(ctx, site.SecretRef{Mount: "secret", Path: "edge-auth/none"}); !errors.Is(err, keysource.ErrNotFound) {
		t.Errorf("FetchUsers of a missing secret: %v; want ErrNotFound", err)
	}

	cache := keysource.NewCache(keysource.UsersAsSource(vk), 0, 0)
	ref := keysource.UsersKeyRef(staging)
	cache.Sync(ctx, []schema.KeyRef{ref})
	e, ok := cache.Lookup(ref)
	if !ok || !e.Have {
		t.Fatalf("cache: %+v", e)
	}
	if got, err := keysource.DecodeUsers(e.Key); err != nil || got["bob"] != "$argon2id$v=19$x" {
		t.Errorf("DecodeUsers: %v %v", got, err)
	}

	root := ktNewVaultKeys(t, keysource.VaultConfig{Address: v.Addr, Token: v.Token})
	if ver, err := root.PutUser(ctx, staging, "carol", "$2a$10$new"); err != nil || ver != 2 {
		t.Fatalf("PutUser as root: %d %v", ver, err)
	}
	if u, err := vk.FetchUsers(ctx, staging); err != nil || len(u.Hashes) != 3 || u.Hashes["alice"] == "" {
		t.Errorf("after PutUser: %+v %v; want alice and bob kept, carol added", u, err)
	}
}
