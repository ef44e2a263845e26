package testenv

import (
	"context"
	"slices"
	"testing"

	"github.com/hashicorp/vault/api"
)

// PutKV writes data to the KV v2 secret mount/path as root and returns the new version.
func (v *Vault) PutKV(t testing.TB, mount, path string, data map[string]any) int {
	t.Helper()
	s, err := v.Client.KVv2(mount).Put(context.Background(), path, data)
	if err != nil {
		t.Fatalf("testenv: put %s/%s: %v", mount, path, err)
	}
	return s.VersionMetadata.Version
}

// WritePolicy stores an ACL policy (HCL) under name.
func (v *Vault) WritePolicy(t testing.TB, name, hcl string) {
	t.Helper()
	if err := v.Client.Sys().PutPolicy(name, hcl); err != nil {
		t.Fatalf("testenv: write policy %s: %v", name, err)
	}
}

// CreateToken creates a token carrying only the given policies (without "default", which
// allows lookup-self and renew-self, unless listed) and returns it. opts may set more fields of auth/token/create (e.g. "ttl": "3s",
// "renewable": true); nil for none.
func (v *Vault) CreateToken(t testing.TB, policies []string, opts map[string]any) string {
	t.Helper()
	req := &api.TokenCreateRequest{Policies: policies, NoDefaultPolicy: !slices.Contains(policies, "default")}
	if ttl, ok := opts["ttl"].(string); ok {
		req.TTL = ttl
	}
	if r, ok := opts["renewable"].(bool); ok {
		req.Renewable = &r
	}
	if m, ok := opts["explicit_max_ttl"].(string); ok {
		req.ExplicitMaxTTL = m
	}
	s, err := v.Client.Auth().Token().Create(req)
	if err != nil {
		t.Fatalf("testenv: create token: %v", err)
	}
	return s.Auth.ClientToken
}

// EnableAppRole enables the AppRole auth method at "approle/" (if not enabled yet).
func (v *Vault) EnableAppRole(t testing.TB) {
	t.Helper()
	auths, err := v.Client.Sys().ListAuth()
	if err != nil {
		t.Fatalf("testenv: list auth methods: %v", err)
	}
	if _, ok := auths["approle/"]; ok {
		return
	}
	if err := v.Client.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatalf("testenv: enable approle: %v", err)
	}
}

// CreateAppRole enables AppRole if needed, creates role with the given token policies and
// extra role settings (e.g. {"token_ttl": "3s", "token_max_ttl": "6s"}; nil for none), and
// returns its role_id and a new secret_id.
func (v *Vault) CreateAppRole(t testing.TB, role string, policies []string, settings map[string]any) (roleID, secretID string) {
	t.Helper()
	v.EnableAppRole(t)
	data := map[string]any{"token_policies": policies}
	for k, val := range settings {
		data[k] = val
	}
	l := v.Client.Logical()
	if _, err := l.Write("auth/approle/role/"+role, data); err != nil {
		t.Fatalf("testenv: create approle %s: %v", role, err)
	}
	s, err := l.Read("auth/approle/role/" + role + "/role-id")
	if err != nil || s == nil {
		t.Fatalf("testenv: read role_id of %s: %v", role, err)
	}
	roleID, _ = s.Data["role_id"].(string)
	return roleID, v.NewSecretID(t, role)
}

// NewSecretID issues another secret_id for an AppRole role.
func (v *Vault) NewSecretID(t testing.TB, role string) string {
	t.Helper()
	s, err := v.Client.Logical().Write("auth/approle/role/"+role+"/secret-id", nil)
	if err != nil || s == nil {
		t.Fatalf("testenv: create secret_id for %s: %v", role, err)
	}
	id, _ := s.Data["secret_id"].(string)
	return id
}
