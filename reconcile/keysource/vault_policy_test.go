package keysource_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/tests/testenv"
)

// The shipped policy lets a token read edge keys, and nothing else.
func TestExampleVaultPolicy(t *testing.T) {
	hcl, err := os.ReadFile("../../examples/vault/edge-policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	v := testenv.StartVault(t)
	v.WritePolicy(t, "edge-keys", string(hcl))
	key := ktKeyPEM(t)
	v.PutKV(t, "secret", "edge/acme.example", map[string]any{"key": string(key)})
	v.PutKV(t, "secret", "other/db", map[string]any{"password": "x"})
	tok := v.CreateToken(t, []string{"edge-keys"}, nil)
	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: v.Addr, Token: tok})
	ctx := context.Background()

	pinned := ktRef
	pinned.Version = 1
	for _, ref := range []schema.KeyRef{ktRef, pinned} {
		if k, err := vk.Fetch(ctx, ref); err != nil || !bytes.Equal(k.PEM, key) {
			t.Fatalf("read %v with the edge policy: %v; want the key", ref, err)
		}
	}
	if _, err := vk.Put(ctx, ktRef, ktKeyPEM(t)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("write an edge key with the edge policy: %v; want 403", err)
	}
	other := schema.KeyRef{Mount: "secret", Path: "other/db", Field: "password"}
	if _, err := vk.Fetch(ctx, other); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("read secret/other/db with the edge policy: %v; want 403", err)
	}
	c, _ := v.Client.Clone()
	c.SetToken(tok)
	denied := []struct{ op, path string }{
		{"list", "secret/metadata/edge"},
		{"read", "secret/metadata/edge/acme.example"},
		{"read", "sys/policy/edge-keys"},
		{"delete", "secret/data/edge/acme.example"},
	}
	for _, d := range denied {
		var err error
		switch d.op {
		case "list":
			_, err = c.Logical().List(d.path)
		case "read":
			_, err = c.Logical().Read(d.path)
		case "delete":
			_, err = c.Logical().Delete(d.path)
		}
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("%s %s with the edge policy: %v; want 403", d.op, d.path, err)
		}
	}
}

// The shipped AppRole setup script, run with the real vault CLI, yields credentials that
// Vault can log in with.
func TestExampleAppRoleSetupScript(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Fatal("sh not found")
	}
	v := testenv.StartVault(t)
	key := ktKeyPEM(t)
	v.PutKV(t, "secret", "edge/acme.example", map[string]any{"key": string(key)})

	bin := t.TempDir() // the script calls `vault`
	if err := os.Symlink(v.Bin, filepath.Join(bin, "vault")); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("../../examples/vault/approle-setup.sh")
	if err != nil {
		t.Fatal(err)
	}
	sidFile := filepath.Join(t.TempDir(), "secret-id")
	run := func() string {
		cmd := exec.Command("sh", script, sidFile)
		cmd.Env = append(v.Env(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("approle-setup.sh: %v\n%s", err, stderr.String())
		}
		return strings.TrimSpace(stdout.String())
	}
	roleID := run()
	if again := run(); again != roleID { // idempotent: a second run keeps the role
		t.Fatalf("second run role_id = %q; want %q", again, roleID)
	}
	if fi, err := os.Stat(sidFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret_id file: %v, %v; want mode 0600", fi, err)
	}

	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: v.Addr, AppRole: keysource.AppRole{RoleID: roleID, SecretIDFile: sidFile}})
	k, err := vk.Fetch(context.Background(), ktRef)
	if err != nil || !bytes.Equal(k.PEM, key) {
		t.Fatalf("fetch with the script's AppRole: %v", err)
	}
	if _, err := vk.Put(context.Background(), ktRef, key); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("write with the script's AppRole: %v; want 403", err)
	}
}
