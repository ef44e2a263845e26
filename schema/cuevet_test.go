package schema_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cueCLI finds the cue command (go install cuelang.org/go/cmd/cue@v0.17.1). It skips only
// outside CI; in CI a missing cue is a failure.
func cueCLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("cue")
	if err != nil {
		if gopath, err2 := exec.Command("go", "env", "GOPATH").Output(); err2 == nil {
			cand := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "cue")
			if _, err3 := os.Stat(cand); err3 == nil {
				return cand
			}
		}
		if os.Getenv("CI") == "true" {
			t.Fatal("cue CLI not found; CI must run: go install cuelang.org/go/cmd/cue@v0.17.1")
		}
		t.Skip("cue CLI not found (go install cuelang.org/go/cmd/cue@v0.17.1)")
	}
	return p
}

// TestCueVet checks the embedded schema works with the cue CLI as documented in
// schema/README.md: the example repo passes, an invalid repo fails naming the field.
func TestCueVet(t *testing.T) {
	cue := cueCLI(t)
	schemaFile, err := filepath.Abs(filepath.Join("cue", "edge.cue"))
	if err != nil {
		t.Fatal(err)
	}
	vet := func(dir string) (string, error) {
		files, _ := filepath.Glob(filepath.Join(dir, "sites", "*.cue"))
		for i := range files {
			files[i], _ = filepath.Rel(dir, files[i])
		}
		args := append([]string{"vet", "-c", schemaFile}, files...)
		if _, err := os.Stat(filepath.Join(dir, "edge.cue")); err == nil {
			args = append(args, "edge.cue")
		}
		cmd := exec.Command(cue, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, dir := range []string{filepath.Join("..", "examples", "config"), materialize(t, goldenCaseNamed(t, "valid", "full")), materialize(t, goldenCaseNamed(t, "valid", "passthrough"))} {
		if out, err := vet(dir); err != nil {
			t.Errorf("cue vet %s: %v\n%s", dir, err, out)
		}
	}
	// A terminated site needs its key; a passthrough site does not.
	if out, err := vet(materialize(t, goldenCaseNamed(t, "invalid", "missing-key"))); err == nil || !strings.Contains(out, "key") {
		t.Errorf("cue vet of a site without key: err %v, output %q; want a failure naming key", err, out)
	}
	out, err := vet(materialize(t, goldenCaseNamed(t, "invalid", "unknown-field")))
	if err == nil || !strings.Contains(out, "upstream") {
		t.Errorf("cue vet of an invalid repo: err %v, output %q; want a failure naming the field", err, out)
	}
}
