// The Dockerfile and its .dockerignore: a non-root static image running edgectl agent.

package tests

import (
	"debug/elf"
	"encoding/json"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestExampleDockerfile(t *testing.T) {
	root := exRepoRoot(t)
	instrs := parseDockerfile(exReadFile(t, filepath.Join(root, "examples", "deploy", "Dockerfile")))
	last := instrs[len(instrs)-1].stage
	if last < 1 {
		t.Fatalf("Dockerfile has %d stages; want a build stage and a runtime stage", last+1)
	}
	var user, expose string
	var entrypoint []string
	copied := map[string]bool{}
	for _, in := range instrs {
		if in.stage != last {
			continue
		}
		switch in.cmd {
		case "USER":
			user = in.args
		case "EXPOSE":
			expose = in.args
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.args), &entrypoint); err != nil {
				t.Errorf("ENTRYPOINT %s is not exec (JSON) form: %v", in.args, err)
			}
		case "COPY":
			f := strings.Fields(in.args)
			if strings.HasPrefix(f[0], "--from=") {
				copied[f[len(f)-1]] = true
			}
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "root" || uid == "0" {
		t.Errorf("runtime stage USER = %q; want a non-root user", user)
	}
	if f := strings.Fields(expose); !exContains(f, "443") || !exContains(f, "80") {
		t.Errorf("EXPOSE %q; want 443 and 80", expose)
	}
	if len(entrypoint) != 2 || path.Base(entrypoint[0]) != "edgectl" || entrypoint[1] != "agent" {
		t.Errorf("ENTRYPOINT %q; want [.../edgectl agent]", entrypoint)
	} else if !copied[entrypoint[0]] {
		t.Errorf("ENTRYPOINT runs %s, which no COPY --from of the runtime stage writes (copies: %v)", entrypoint[0], copied)
	}

	// The build stage's go build line, run here on the filtered build context.
	bin := exEdgectl(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a dynamic loader (PT_INTERP); want a static binary (CGO_ENABLED=0) for a distroless/static image", bin)
		}
	}
	out, err := exec.Command(bin, "help").CombinedOutput()
	if err != nil {
		t.Fatalf("edgectl help: %v\n%s", err, out)
	}
	for _, c := range []string{"agent", "validate", "plan"} {
		if !regexp.MustCompile(`(?m)^\s+` + c + `\s`).Match(out) {
			t.Errorf("the image's edgectl has no %q command:\n%s", c, out)
		}
	}
}

func TestExampleDockerignore(t *testing.T) {
	ignore, err := parseDockerignore(exReadFile(t, filepath.Join(exRepoRoot(t), "examples", "deploy", "Dockerfile.dockerignore")))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{".git", true},
		{"tests/testenv/vault.go", true},
		{"schema/loader_test.go", true},
		{"schema/testdata/x.cue", true},
		{"examples/keys/secret/edge/acme/key.pem", true},
		{"README.md", true},
		{"go.mod", false},
		{"go.sum", false},
		{"cmd/edgectl/main.go", false},
		{"schema/cue/edge.cue", false},
		{"cmd/edgectl/demoapp/hello.js", false},
		{"cmd/edgectl/demoapp/hello-tls.js", false},
	} {
		if got := ignore.excluded(tc.path); got != tc.want {
			t.Errorf("excluded(%q) = %v; want %v", tc.path, got, tc.want)
		}
	}
}
