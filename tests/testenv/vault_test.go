package testenv

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

func TestStartVaultKVAndRestart(t *testing.T) {
	v := StartVault(t)
	if !strings.HasPrefix(v.Addr, "http://127.0.0.1:") {
		t.Fatalf("Addr = %q; want a loopback URL", v.Addr)
	}
	ver := v.PutKV(t, "secret", "edge/a", map[string]any{"key": "one"})
	ver2 := v.PutKV(t, "secret", "edge/a", map[string]any{"key": "two"})
	if ver != 1 || ver2 != 2 {
		t.Fatalf("versions = %d, %d; want 1, 2", ver, ver2)
	}
	s, err := v.Client.KVv2("secret").GetVersion(context.Background(), "edge/a", 1)
	if err != nil || s.Data["key"] != "one" {
		t.Fatalf("GetVersion(1) = %v, %v; want key=one", s, err)
	}

	v.Stop()
	if _, err := v.Client.KVv2("secret").Get(context.Background(), "edge/a"); err == nil {
		t.Fatal("read from a stopped vault succeeded")
	}
	v.Restart(t)
	_, err = v.Client.KVv2("secret").Get(context.Background(), "edge/a")
	if !errors.Is(err, api.ErrSecretNotFound) {
		t.Fatalf("read after restart: err = %v; want ErrSecretNotFound (dev server restarts empty)", err)
	}
	if got := v.PutKV(t, "secret", "edge/a", map[string]any{"key": "three"}); got != 1 {
		t.Fatalf("version after restart = %d; want 1", got)
	}
}

func TestVaultAppRoleAndCLI(t *testing.T) {
	v := StartVault(t)
	v.WritePolicy(t, "p", `path "secret/data/x" { capabilities = ["read"] }`)
	roleID, secretID := v.CreateAppRole(t, "r", []string{"p"}, map[string]any{"token_ttl": "60s"})
	s, err := v.Client.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil || s.Auth == nil || s.Auth.ClientToken == "" {
		t.Fatalf("approle login = %v, %v; want a token", s, err)
	}
	if !slices.Contains(s.Auth.Policies, "p") {
		t.Fatalf("login policies = %v; want p", s.Auth.Policies)
	}

	cmd := exec.Command(v.Bin, "kv", "put", "secret/x", "k=v")
	cmd.Env = v.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vault kv put: %v\n%s", err, out)
	}
	tok := v.CreateToken(t, []string{"p"}, nil)
	c, _ := v.Client.Clone()
	c.SetToken(tok)
	got, err := c.KVv2("secret").Get(context.Background(), "x")
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("read with policy token = %v, %v; want k=v", got, err)
	}
}
