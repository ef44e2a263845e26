// Vault for Kubernetes (vault-setup.sh) and the key policy of examples/vault.

package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
)

// TestExampleKubernetesVaultSetup runs vault-setup.sh with the real vault CLI against a real
// Vault dev server and reads back what it configured. Logging in through that role is not
// tested: Vault checks the pod's JWT with the Kubernetes TokenReview API, and there is no
// Kubernetes API server here.
func TestExampleKubernetesVaultSetup(t *testing.T) {
	testenv.NeedTool(t, "sh", "dash")
	v := testenv.StartVault(t)
	bin := t.TempDir()
	if err := os.Symlink(v.Bin, filepath.Join(bin, "vault")); err != nil {
		t.Fatal(err)
	}
	// Any CA certificate stands in for the cluster's.
	caFile := filepath.Join(exRepoRoot(t), "examples", "config", "certs", "ca.pem")
	env := append(os.Environ(), v.Env()...)
	env = append(env,
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		// Vault stores this address; it is only contacted at login.
		"K8S_HOST=https://127.0.0.1:6443",
		"K8S_CA_CERT="+caFile)
	script := filepath.Join(exRepoRoot(t), "examples", "deploy", "kubernetes", "vault-setup.sh")
	for run := 1; run <= 2; run++ { // a second run must succeed too (idempotent)
		cmd := exec.Command(script)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vault-setup.sh (run %d): %v\n%s", run, err, out)
		}
	}
	read := func(p string) map[string]any {
		t.Helper()
		s, err := v.Client.Logical().Read(p)
		if err != nil || s == nil {
			t.Fatalf("read %s: %v", p, err)
		}
		return s.Data
	}
	role := read("auth/kubernetes/role/edge")
	for k, want := range map[string]string{
		"bound_service_account_names":      `["edge"]`,
		"bound_service_account_namespaces": `["edge"]`,
		"audience":                         `"vault"`,
		"token_policies":                   `["edge-keys"]`,
	} {
		if got := jsonString(role[k]); got != want {
			t.Errorf("role edge: %s = %s; want %s", k, got, want)
		}
	}
	k8sCfg := read("auth/kubernetes/config")
	if got := jsonString(k8sCfg["kubernetes_host"]); got != `"https://127.0.0.1:6443"` {
		t.Errorf("kubernetes_host = %s", got)
	}
	if got, _ := k8sCfg["kubernetes_ca_cert"].(string); strings.TrimSpace(got) != strings.TrimSpace(exReadFile(t, caFile)) {
		t.Errorf("kubernetes_ca_cert is not K8S_CA_CERT:\n%s", got)
	}
	if k8sCfg["disable_local_ca_jwt"] != true {
		t.Errorf("disable_local_ca_jwt = %v; want true", k8sCfg["disable_local_ca_jwt"])
	}
	pol := read("sys/policy/edge-keys")
	if rules, _ := pol["rules"].(string); rules != exReadFile(t, filepath.Join(exRepoRoot(t), "examples", "vault", "edge-policy.hcl")) {
		t.Errorf("policy edge-keys is not examples/vault/edge-policy.hcl:\n%s", rules)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
