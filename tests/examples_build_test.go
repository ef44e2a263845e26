// The edgectl the examples' image holds: examples/deploy/Dockerfile's go build line, run on
// the build context its .dockerignore leaves, once per test binary.

package tests

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// dockerInstr is one Dockerfile instruction, continuation lines joined.
type dockerInstr struct {
	stage int    // index of the FROM it belongs to
	cmd   string // upper case: FROM, RUN, COPY, ...
	args  string
}

// parseDockerfile splits a Dockerfile into instructions (comments dropped, "\" continuations
// joined). It knows no parser directives beyond "# syntax", which is a comment here.
func parseDockerfile(src string) []dockerInstr {
	var out []dockerInstr
	stage := -1
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, dockerInstr{stage: stage, cmd: cmd, args: strings.TrimSpace(args)})
	}
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return out
}

// runShellCommand drops RUN's own flags (--mount=..., --network=...) from a shell-form RUN.
func runShellCommand(args string) string {
	for strings.HasPrefix(args, "--") {
		_, rest, _ := strings.Cut(args, " ")
		args = strings.TrimSpace(rest)
	}
	return args
}

// dockerignore is a .dockerignore file, enough of its syntax for our file: patterns matched
// against the slash path relative to the context root (a match covers the whole subtree),
// with a leading "**/" matching at any depth, and "!" exceptions that re-include what an
// earlier pattern excluded. As in Docker, the last pattern that matches decides.
type dockerignore []ignorePattern

// ignorePattern is one line of a .dockerignore file.
type ignorePattern struct {
	pattern   string
	exception bool // the line began with "!"
}

func (d dockerignore) excluded(rel string) bool {
	excluded := false
	for _, p := range d {
		if p.matches(rel) {
			excluded = !p.exception
		}
	}
	return excluded
}

// reincludesBelow reports whether an exception may re-include something under dir, so a
// walk must not skip it.
func (d dockerignore) reincludesBelow(dir string) bool {
	for _, p := range d {
		if p.exception && strings.HasPrefix(p.pattern, dir+"/") {
			return true
		}
	}
	return false
}

func (p ignorePattern) matches(rel string) bool {
	pat := strings.TrimPrefix(p.pattern, "**/")
	anyDepth := pat != p.pattern
	parts := strings.Split(rel, "/")
	for i := range parts {
		if !anyDepth && i > 0 {
			break
		}
		for j := i + 1; j <= len(parts); j++ {
			if ok, _ := path.Match(pat, strings.Join(parts[i:j], "/")); ok {
				return true
			}
		}
	}
	return false
}

func parseDockerignore(src string) (dockerignore, error) {
	var d dockerignore
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{pattern: line}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			p = ignorePattern{pattern: rest, exception: true}
		}
		if _, err := path.Match(strings.TrimPrefix(p.pattern, "**/"), ""); err != nil {
			return nil, fmt.Errorf("dockerignore: %q: %w", line, err)
		}
		p.pattern = strings.TrimSuffix(p.pattern, "/")
		d = append(d, p)
	}
	return d, nil
}

// copyContext copies the repository into dst as the Docker build context would hold it.
func copyContext(root, dst string, ignore dockerignore) error {
	return filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if ignore.excluded(rel) {
			if de.IsDir() && !ignore.reincludesBelow(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if de.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !de.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		// The parent exists unless it was excluded and a file below it re-included.
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

var (
	edgectlOnce sync.Once
	edgectlBin  string
	edgectlErr  error
	edgectlDir  string // removed by TestMain
)

// TestMain removes the edgectl binary built once for this test binary.
func TestMain(m *testing.M) {
	code := m.Run()
	if edgectlDir != "" {
		os.RemoveAll(edgectlDir)
	}
	os.Exit(code)
}

// exEdgectl builds edgectl once per test binary with the Dockerfile's own go build
// command line, run in a copy of the repository filtered by Dockerfile.dockerignore (the
// build context Docker would send), so every test uses the binary the image would hold.
func exEdgectl(t testing.TB) string {
	t.Helper()
	edgectlOnce.Do(func() {
		edgectlBin, edgectlErr = buildWithDockerfile(exRepoRoot(t))
	})
	if edgectlErr != nil {
		t.Fatalf("build edgectl as examples/deploy/Dockerfile does: %v", edgectlErr)
	}
	return edgectlBin
}

func buildWithDockerfile(root string) (string, error) {
	dockerfile := filepath.Join(root, "examples", "deploy", "Dockerfile")
	src, err := os.ReadFile(dockerfile)
	if err != nil {
		return "", err
	}
	var build string
	for _, in := range parseDockerfile(string(src)) {
		if in.stage == 0 && in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = runShellCommand(in.args)
		}
	}
	if build == "" {
		return "", errors.New("no RUN ... go build in the Dockerfile's first stage")
	}
	// The build writes to /out/ in the image; here to a temp dir.
	if !strings.Contains(build, "-o /out/edgectl") {
		return "", errors.New("the go build line does not write /out/edgectl: " + build)
	}
	dir, err := os.MkdirTemp("", "edge-examples-")
	if err != nil {
		return "", err
	}
	edgectlDir = dir
	ctxDir := filepath.Join(dir, "context")
	ignoreSrc, err := os.ReadFile(dockerfile + ".dockerignore")
	if err != nil {
		return "", err
	}
	ignore, err := parseDockerignore(string(ignoreSrc))
	if err != nil {
		return "", err
	}
	if err := copyContext(root, ctxDir, ignore); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bin", "edgectl")
	cmdline := strings.Replace(build, "-o /out/edgectl", "-o "+bin, 1)
	cmd := exec.Command("sh", "-c", cmdline)
	cmd.Dir = ctxDir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(cmdline + ": " + err.Error() + "\n" + string(out))
	}
	return bin, nil
}

// TestDockerignoreContext checks the release image's build context: the demo's CA is in it,
// tests and test data are not.
func TestDockerignoreContext(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(exRepoRoot(t), "examples/deploy/Dockerfile.dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	ignore, err := parseDockerignore(string(src))
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{
		"tests/testca/ca.go":          false,
		"tests/testca/testca_test.go": true,
		"tests/agent_test.go":         true,
		"tests/testenv/git.go":        true,
		"schema/testdata/x.txtar":     true,
		"cmd/edgectl/main.go":         false,
		"edge/server_test.go":         true,
		"README.md":                   true,
		".git/config":                 true,
	} {
		if got := ignore.excluded(rel); got != want {
			t.Errorf("excluded(%q) = %v, want %v", rel, got, want)
		}
	}
	if !ignore.reincludesBelow("tests") || ignore.reincludesBelow("examples") {
		t.Error("reincludesBelow: want tests (for !tests/testca) and not examples")
	}
}
