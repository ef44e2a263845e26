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

// cachedTool is a tool built once per test binary by buildCached; a test that needs it
// fails when it cannot be built under CI=true, and is skipped otherwise.
type cachedTool struct {
	what              string // for messages, e.g. "real Vault"
	name, module, pkg string // buildCached's arguments

	once sync.Once
	path string
	err  error
}

// get returns the tool's path, building it on first use.
func (c *cachedTool) get(t testing.TB) string {
	t.Helper()
	c.once.Do(func() { c.path, c.err = buildCached(c.name, c.module, c.pkg) })
	if c.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: %s unavailable: %v", c.what, c.err)
		}
		t.Skipf("testenv: %s unavailable (CI unset, skipping): %v", c.what, c.err)
	}
	return c.path
}

// buildCached returns the path of name in the cache directory (VaultCacheDir), building it
// first if it is missing: `go build` of package pkg in the nested module tests/<module>,
// with that module's go.mod and go.sum pinning every version. A file lock serialises
// builders across test binaries and the binary appears by atomic rename, so parallel test
// binaries neither race nor see a half-written file.
func buildCached(name, module, pkg string) (string, error) {
	dir, err := VaultCacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
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

	src, err := nestedModuleDir(module)
	if err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go toolchain not on PATH: %w", err)
	}
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	defer os.Remove(tmp)
	// The shell holds the lock too (an inherited descriptor) and installs the binary itself,
	// so a test binary killed mid-build (a timeout) leaves a build that still finishes and
	// serves the next waiter, instead of an orphan that builds in parallel and is thrown away.
	cmd := exec.Command("sh", "-c", `"$0" build -trimpath -ldflags="-s -w" -o "$1" "$3" && mv -f "$1" "$2"`,
		goBin, tmp, bin, pkg)
	cmd.ExtraFiles = []*os.File{lock}
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		const max = 4000
		if len(out) > max {
			out = append([]byte("..."), out[len(out)-max:]...)
		}
		return "", fmt.Errorf("go build %s in %s: %w\n%s", pkg, src, err, out)
	}
	if !isExecutable(bin) {
		return "", fmt.Errorf("install %s binary: %s missing after the build", name, bin)
	}
	return bin, nil
}

// nestedModuleDir finds tests/<module>: beside this source file when the test was built
// with full paths, else by walking up from the working directory.
func nestedModuleDir(module string) (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		d := filepath.Join(filepath.Dir(file), "..", module)
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "tests", module)
		if _, err := os.Stat(filepath.Join(cand, "go.mod")); err == nil {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("tests/" + module + " not found above " + wd)
		}
	}
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
