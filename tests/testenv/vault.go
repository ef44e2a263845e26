// Package testenv starts real servers (git, HashiCorp Vault) for tests: free loopback ports,
// temp dirs, everything stopped on t.Cleanup.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
)

// VaultVersion is the Vault release tests/vaultserver builds (see /work/shared/VAULT.md:
// v1.21.0 is the newest that builds from the module proxy with its matching sdk).
const VaultVersion = "v1.21.0"

var (
	vaultBinOnce sync.Once
	vaultBinPath string
	vaultBinErr  error
)

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
	vaultBinOnce.Do(func() { vaultBinPath, vaultBinErr = buildVault() })
	if vaultBinErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: real Vault unavailable: %v", vaultBinErr)
		}
		t.Skipf("testenv: real Vault unavailable (CI unset, skipping): %v", vaultBinErr)
	}
	return vaultBinPath
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

func buildVault() (string, error) {
	dir, err := VaultCacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "vault-"+VaultVersion)
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create cache dir: %w", err)
	}
	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("open build lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("take build lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if isExecutable(bin) { // another process built it while we waited
		return bin, nil
	}

	src, err := vaultServerDir()
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go toolchain not on PATH: %w", err)
	}
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	defer os.Remove(tmp)
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		const max = 4000
		if len(out) > max {
			out = append([]byte("..."), out[len(out)-max:]...)
		}
		return "", fmt.Errorf("go build in %s: %w\n%s", src, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("install vault binary: %w", err)
	}
	return bin, nil
}

// vaultServerDir finds tests/vaultserver: beside this source file when the test was built
// with full paths, else by walking up from the working directory.
func vaultServerDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		d := filepath.Join(filepath.Dir(file), "..", "vaultserver")
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "tests", "vaultserver")
		if _, err := os.Stat(filepath.Join(cand, "go.mod")); err == nil {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("tests/vaultserver not found above " + wd)
		}
	}
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
