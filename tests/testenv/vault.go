// Package testenv starts real servers (git, HashiCorp Vault) for tests: free loopback ports,
// temp dirs, everything stopped on t.Cleanup.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// VaultVersion is the Vault release tests/vaultserver builds (see /work/shared/VAULT.md:
// v1.21.0 is the newest that builds from the module proxy with its matching sdk).
const VaultVersion = "v1.21.0"

var vaultTool = cachedTool{what: "real Vault", name: "vault-" + VaultVersion, module: "vaultserver", pkg: "."}

// VaultBinary returns the path of a real `vault` binary built from tests/vaultserver, building
// it on first use. The binary is cached as vault-<VaultVersion> in $EDGE_CACHE, or in
// $HOME/.cache/edge when EDGE_CACHE is unset, and shared by every test binary on the machine:
// a file lock serialises builders and the result appears by atomic rename, so parallel test
// binaries neither race nor see a half-written file.
//
// The first build downloads about 4 GB of modules and compiles for about 10 minutes on two
// cores (run `go test` with -timeout 30m, or build it in a CI step beforehand); later calls cost
// a stat. When the build is impossible the test fails if CI=true and is skipped otherwise.
func VaultBinary(t testing.TB) string {
	t.Helper()
	return vaultTool.get(t)
}

// VaultCacheDir is where VaultBinary keeps the built binary: $EDGE_CACHE, or
// $HOME/.cache/edge.
func VaultCacheDir() (string, error) {
	if d := os.Getenv("EDGE_CACHE"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no EDGE_CACHE and no home directory: %w", err)
	}
	return filepath.Join(home, ".cache", "edge"), nil
}
