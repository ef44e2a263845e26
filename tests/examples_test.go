// The examples_*_test.go files check the deployment examples in examples/: the Dockerfile
// (its go build line run here, the binary every other example test uses), the systemd unit
// and agent.env (systemd-analyze), the GitHub workflow (its run: steps executed against a
// real git clone of examples/config), the Kubernetes manifests and the Vault setup (the
// real vault CLI against a real Vault dev server). This file holds their shared helpers.

package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the module root (the parent of tests/).
func exRepoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

func exReadFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// agentEnvNames returns the environment variables `edgectl agent --help` documents.
func agentEnvNames(t testing.TB) map[string]bool {
	t.Helper()
	out, _ := exec.Command(exEdgectl(t), "agent", "--help").CombinedOutput()
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`\[([A-Z][A-Z0-9_]+)\]`).FindAllStringSubmatch(string(out), -1) {
		names[m[1]] = true
	}
	if len(names) < 10 {
		t.Fatalf("edgectl agent --help documents %d environment variables; want the agent's flag list:\n%s", len(names), out)
	}
	names["VAULT_TOKEN"] = true // the fallback of --vault-token-file, read by the Vault client
	return names
}

func exContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// exContainsArg returns the value of the first argument with the prefix ("" if none).
func exContainsArg(args []string, prefix string) string {
	for _, a := range args {
		if strings.HasPrefix(a, prefix) {
			return strings.TrimPrefix(a, prefix)
		}
	}
	return ""
}
