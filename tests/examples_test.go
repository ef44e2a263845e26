// This file checks the deployment examples in examples/: the GitHub workflow (its run:
// steps executed against a real git clone of examples/config), the systemd unit
// (systemd-analyze), the Dockerfile (its go build line run here), the Kubernetes manifests
// and the Vault setup (the real vault CLI against a real Vault dev server).

package tests

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
	"github.com/hashicorp/hcl"
	"go.yaml.in/yaml/v3"
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

// ---------------------------------------------------------------------------------------
// Dockerfile

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
// against the slash path relative to the context root (a match excludes the whole subtree),
// with a leading "**/" matching at any depth. "!" exceptions are refused.
type dockerignore []string

func (d dockerignore) excluded(rel string) bool {
	for _, p := range d {
		pat := strings.TrimPrefix(p, "**/")
		anyDepth := pat != p
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
		if strings.HasPrefix(line, "!") {
			return nil, errors.New("dockerignore: exceptions (" + line + ") are not supported by this test")
		}
		d = append(d, strings.TrimSuffix(line, "/"))
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
			if de.IsDir() {
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
	} {
		if got := ignore.excluded(tc.path); got != tc.want {
			t.Errorf("excluded(%q) = %v; want %v", tc.path, got, tc.want)
		}
	}
}

func exContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------------------
// systemd

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

func TestExampleAgentEnv(t *testing.T) {
	known := agentEnvNames(t)
	src := exReadFile(t, filepath.Join(exRepoRoot(t), "examples", "deploy", "agent.env"))
	set := 0
	for i, line := range strings.Split(src, "\n") {
		// Settings and commented-out settings (#NAME=value) must both be real variables.
		m := regexp.MustCompile(`^#?([A-Z][A-Z0-9_]*)=`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			set++
		}
		if !known[m[1]] {
			t.Errorf("agent.env:%d: %s is not a variable of edgectl agent", i+1, m[1])
		}
	}
	if set == 0 || !strings.Contains(src, "\nEDGE_REPO=") {
		t.Errorf("agent.env sets %d variables; want at least EDGE_REPO", set)
	}
}

// unitDirectives returns the directives of a unit file: name -> values in order.
func unitDirectives(src string) map[string][]string {
	d := map[string][]string{}
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		d[k] = append(d[k], v)
	}
	return d
}

func TestExampleSystemdUnit(t *testing.T) {
	unit := exReadFile(t, filepath.Join(exRepoRoot(t), "examples", "deploy", "edge.service"))
	d := unitDirectives(unit)
	for k, want := range map[string]string{
		"ExecStart":               "/usr/local/bin/edgectl agent",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"EnvironmentFile":         "/etc/edge/agent.env",
		"Restart":                 "on-failure",
		"DynamicUser":             "yes",
		"AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
	} {
		if got := d[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q; want %q", k, got, want)
		}
	}
	if !exContains(d["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter=%q; want @system-service", d["SystemCallFilter"])
	}
	if n, err := strconv.Atoi(strings.Join(d["LimitNOFILE"], "")); err != nil || n < 65536 {
		t.Errorf("LimitNOFILE=%q; want at least 65536", d["LimitNOFILE"])
	}

	analyze := testenv.NeedTool(t, "systemd-analyze", "systemd")
	// verify needs ExecStart's binary to exist: point it at the edgectl the image would hold.
	dir := t.TempDir()
	unitPath := filepath.Join(dir, "edge.service")
	bin := exEdgectl(t)
	if err := os.WriteFile(unitPath, []byte(strings.ReplaceAll(unit, "/usr/local/bin/edgectl", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unitPath).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify edge.service: %v\n%s", err, out)
	}

	// The exposure score systemd computes from the sandboxing settings (0 best, 10 worst).
	out, err = exec.Command(analyze, "security", "--offline=yes", unitPath).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for edge\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security --offline=yes: %v\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f (0 = fully sandboxed, 10 = unprotected)", score)
	if score > 2.0 {
		t.Errorf("exposure level %.1f; want at most 2.0 (\"OK\")\n%s", score, out)
	}
}

// ---------------------------------------------------------------------------------------
// GitHub Actions workflow

// ghWorkflow is the part of a GitHub Actions workflow this test runs.
type ghWorkflow struct {
	On   map[string]any `yaml:"on"`
	Jobs map[string]struct {
		Steps []ghStep `yaml:"steps"`
	} `yaml:"jobs"`
}

type ghStep struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	With map[string]any    `yaml:"with"`
	If   string            `yaml:"if"`
	Env  map[string]string `yaml:"env"`
	Run  string            `yaml:"run"`
}

var ghExpr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// ghExpand replaces the ${{ }} expressions the workflow uses with the values of a pull
// request; an expression it does not know fails the test (so new ones are not run blindly).
func ghExpand(t testing.TB, s string, ctx map[string]string) string {
	t.Helper()
	return ghExpr.ReplaceAllStringFunc(s, func(m string) string {
		e := ghExpr.FindStringSubmatch(m)[1]
		v, ok := ctx[e]
		if !ok {
			t.Fatalf("workflow expression %q unknown to this test", m)
		}
		return v
	})
}

// ghStub is a stand-in for the gh CLI, which would talk to api.github.com (unreachable from
// tests). It records each call's arguments, GH_TOKEN/GH_REPO and --body-file content, and
// like the real gh fails `--edit-last` when this workflow has not commented yet.
const ghStub = `#!/bin/sh
{
	echo "ARGS $*"
	echo "GH_TOKEN=${GH_TOKEN:-} GH_REPO=${GH_REPO:-}"
	prev=
	for a in "$@"; do
		if [ "$prev" = --body-file ]; then echo "BODY <<"; cat "$a"; echo ">>"; fi
		prev=$a
	done
} >>"$GH_STUB_LOG"
for a in "$@"; do
	if [ "$a" = --edit-last ]; then echo "no comments found for current user" >&2; exit 1; fi
done
exit 0
`

func exGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Edge Test", "-c", "user.email=edge@example.test", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestExampleGitHubWorkflow(t *testing.T) {
	root := exRepoRoot(t)
	testenv.NeedTool(t, "git", "git")
	bash := testenv.NeedTool(t, "bash", "bash")
	var wf ghWorkflow
	if err := yaml.Unmarshal([]byte(exReadFile(t, filepath.Join(root, "examples", "github", "edge-validate.yml"))), &wf); err != nil {
		t.Fatalf("edge-validate.yml: %v", err)
	}
	if _, ok := wf.On["pull_request"]; !ok {
		t.Fatalf("workflow on: %v; want pull_request", wf.On)
	}
	job, ok := wf.Jobs["validate"]
	if !ok || len(job.Steps) == 0 {
		t.Fatalf("workflow has no steps in job validate")
	}
	modPath := regexp.MustCompile(`(?m)^module (\S+)`).FindStringSubmatch(exReadFile(t, filepath.Join(root, "go.mod")))[1]
	bin := exEdgectl(t)

	tests := []struct {
		name         string
		edit         func(src string) string // of sites/shops.cue
		wantValidate int
		wantPlan     int
		wantBody     []string
	}{
		{
			name:     "valid change",
			edit:     func(s string) string { return strings.Replace(s, "http://127.0.0.1:3001", "http://127.0.0.1:3005", 1) },
			wantBody: []string{"edge plan", "`shops`", "127.0.0.1:3005", "1 changed"},
		},
		{
			name: "invalid change",
			edit: func(s string) string {
				return strings.Replace(s, `cert: "certs/shops.pem"`, `cert: "certs/missing.pem"`, 1)
			},
			wantValidate: 1,
			wantPlan:     1,
			wantBody:     []string{"HEAD is invalid", "sites/shops.cue"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// "origin": the config repo on its main branch; "work": the pull request checkout
			// (actions/checkout with fetch-depth: 0 gives the same: origin/main and HEAD).
			origin := filepath.Join(dir, "origin")
			if err := copyContext(filepath.Join(root, "examples", "config"), origin, nil); err != nil {
				t.Fatal(err)
			}
			exGit(t, origin, "init", "-q")
			exGit(t, origin, "add", "-A")
			exGit(t, origin, "commit", "-q", "-m", "base")
			work := filepath.Join(dir, "work")
			exGit(t, dir, "clone", "-q", origin, work)
			exGit(t, work, "checkout", "-q", "-b", "change")
			shops := filepath.Join(work, "sites", "shops.cue")
			src := exReadFile(t, shops)
			if edited := tc.edit(src); edited == src {
				t.Fatal("the edit changed nothing")
			} else if err := os.WriteFile(shops, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			exGit(t, work, "commit", "-q", "-am", "change shops")

			stubs := filepath.Join(dir, "bin")
			os.MkdirAll(stubs, 0o755)
			if err := os.Symlink(bin, filepath.Join(stubs, "edgectl")); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(stubs, "gh"), []byte(ghStub), 0o755); err != nil {
				t.Fatal(err)
			}
			ghLog := filepath.Join(dir, "gh.log")
			summary := filepath.Join(dir, "step-summary.md")
			exprs := map[string]string{
				"github.token":                     "ghs_test",
				"github.repository":                "hosting/edge-config",
				"github.event.pull_request.number": "7",
				"github.base_ref":                  "main",
				"!cancelled()":                     "true",
			}
			env := append(os.Environ(),
				"PATH="+stubs+string(os.PathListSeparator)+os.Getenv("PATH"),
				"HOME="+dir, "CI=true", "GITHUB_ACTIONS=true",
				"GITHUB_STEP_SUMMARY="+summary, "GITHUB_OUTPUT="+filepath.Join(dir, "output"),
				"GH_STUB_LOG="+ghLog)

			exit := map[string]int{}
			outputs := map[string]string{}
			for _, st := range job.Steps {
				switch {
				case strings.HasPrefix(st.Uses, "actions/checkout@"):
					if fd := st.With["fetch-depth"]; fd != 0 {
						t.Errorf("checkout fetch-depth = %v; want 0 (plan needs origin/BASE)", fd)
					}
					continue
				case strings.HasPrefix(st.Uses, "actions/setup-go@"):
					continue // the go toolchain running this test
				case st.Uses != "":
					t.Fatalf("step uses %s, unknown to this test", st.Uses)
				}
				if strings.HasPrefix(st.Run, "go install ") {
					// Not run: the module is not fetched from the proxy here. Check the package
					// it names is this module's edgectl; exEdgectl built that from this tree.
					pkg, _, _ := strings.Cut(strings.Fields(st.Run)[2], "@")
					if pkg != modPath+"/cmd/edgectl" {
						t.Errorf("install step installs %s; want %s/cmd/edgectl", pkg, modPath)
					}
					continue
				}
				if st.If != "" && ghExpand(t, "${{ "+strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(st.If), "${{"), "}}")+" }}", exprs) != "true" {
					continue
				}
				stepEnv := append([]string(nil), env...)
				for k, v := range st.Env {
					stepEnv = append(stepEnv, k+"="+ghExpand(t, v, exprs))
				}
				// GitHub runs run: blocks with `bash --noprofile --norc -eo pipefail {0}`.
				script := filepath.Join(dir, "step.sh")
				if err := os.WriteFile(script, []byte(ghExpand(t, st.Run, exprs)), 0o644); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				cmd := exec.CommandContext(ctx, bash, "--noprofile", "--norc", "-eo", "pipefail", script)
				cmd.Dir, cmd.Env = work, stepEnv
				out, err := cmd.CombinedOutput()
				cancel()
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatalf("step %q: %v", st.Name, err)
				}
				exit[st.Name], outputs[st.Name] = code, string(out)
				t.Logf("step %q: exit %d\n%s", st.Name, code, out)
			}

			if got, ok := exit["Validate"]; !ok || got != tc.wantValidate {
				t.Errorf("Validate step exit %d (ran: %v); want %d", got, ok, tc.wantValidate)
			}
			if tc.wantValidate != 0 && !strings.Contains(outputs["Validate"], "::error file=sites/shops.cue,line=") {
				t.Errorf("Validate output has no GitHub annotation on sites/shops.cue:\n%s", outputs["Validate"])
			}
			if got, ok := exit["Plan"]; !ok || got != tc.wantPlan {
				t.Errorf("Plan step exit %d (ran: %v); want %d", got, ok, tc.wantPlan)
			}
			log := exReadFile(t, ghLog)
			if !strings.Contains(log, "ARGS pr comment 7 --edit-last --body-file plan.md") ||
				!strings.Contains(log, "ARGS pr comment 7 --body-file plan.md") {
				t.Errorf("gh calls: want --edit-last, then a new comment on PR 7; got\n%s", log)
			}
			if !strings.Contains(log, "GH_TOKEN=ghs_test GH_REPO=hosting/edge-config") {
				t.Errorf("gh ran without GH_TOKEN/GH_REPO:\n%s", log)
			}
			_, body, _ := strings.Cut(log, "BODY <<")
			for _, w := range tc.wantBody {
				if !strings.Contains(body, w) {
					t.Errorf("PR comment lacks %q:\n%s", w, body)
				}
			}
			if s := exReadFile(t, summary); !strings.Contains(s, "edge plan") {
				t.Errorf("step summary lacks the plan:\n%s", s)
			}
		})
	}
}

// ---------------------------------------------------------------------------------------
// Kubernetes and Vault

type k8sContainer struct {
	Name          string   `yaml:"name"`
	Image         string   `yaml:"image"`
	Args          []string `yaml:"args"`
	RestartPolicy string   `yaml:"restartPolicy"`
	EnvFrom       []struct {
		ConfigMapRef struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

type k8sDoc struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				ServiceAccountName string `yaml:"serviceAccountName"`
				TerminationGrace   int    `yaml:"terminationGracePeriodSeconds"`
				SecurityContext    struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				InitContainers []k8sContainer `yaml:"initContainers"`
				Containers     []k8sContainer `yaml:"containers"`
				Volumes        []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// k8sDocs decodes every YAML document of the files in dir, keyed by "Kind/name".
func k8sDocs(t testing.TB, dir string) map[string]k8sDoc {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no YAML in %s", dir)
	}
	docs := map[string]k8sDoc{}
	for _, f := range files {
		dec := yaml.NewDecoder(strings.NewReader(exReadFile(t, f)))
		for i := 0; ; i++ {
			var d k8sDoc
			err := dec.Decode(&d)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", f, i+1, err)
			}
			if d.APIVersion == "" || d.Kind == "" || d.Metadata.Name == "" {
				t.Errorf("%s: document %d lacks apiVersion, kind or metadata.name", f, i+1)
			}
			docs[d.Kind+"/"+d.Metadata.Name] = d
		}
	}
	return docs
}

// mountedAt returns the volume of c mounted at a directory holding file p.
func mountedAt(c k8sContainer, p string) string {
	for _, m := range c.VolumeMounts {
		if strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return m.Name
		}
	}
	return ""
}

// hclBlock walks HCL decoded into map[string]any: each key must name exactly one block
// (labels are keys too: `method "kubernetes" {}` is method, then kubernetes).
func hclBlock(t testing.TB, m map[string]any, keys ...string) map[string]any {
	t.Helper()
	for i, k := range keys {
		bs, ok := m[k].([]map[string]any)
		if !ok || len(bs) != 1 {
			t.Fatalf("vault-agent.hcl: want one %s block; got %v", strings.Join(keys[:i+1], "."), m[k])
		}
		m = bs[0]
	}
	return m
}

func TestExampleKubernetes(t *testing.T) {
	root := exRepoRoot(t)
	docs := k8sDocs(t, filepath.Join(root, "examples", "deploy", "kubernetes"))
	ds, ok := docs["DaemonSet/edge"]
	if !ok {
		t.Fatalf("no DaemonSet edge; have %v", docs)
	}
	for k, d := range docs {
		if d.Kind != "Namespace" && d.Kind != "ClusterRoleBinding" && d.Metadata.Namespace != "edge" {
			t.Errorf("%s in namespace %q; want edge", k, d.Metadata.Namespace)
		}
	}
	pod := ds.Spec.Template.Spec
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod labels %v", k, v, ds.Spec.Template.Metadata.Labels)
		}
	}
	if _, ok := docs["ServiceAccount/"+pod.ServiceAccountName]; !ok {
		t.Errorf("serviceAccountName %q is not declared", pod.ServiceAccountName)
	}
	if !pod.SecurityContext.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap != nil {
			if _, ok := docs["ConfigMap/"+v.ConfigMap.Name]; !ok {
				t.Errorf("volume %s: ConfigMap %s is not declared", v.Name, v.ConfigMap.Name)
			}
		}
	}
	containers := map[string]k8sContainer{}
	for _, c := range append(append([]k8sContainer(nil), pod.InitContainers...), pod.Containers...) {
		containers[c.Name] = c
		if c.Image == "" || !strings.Contains(c.Image, ":") {
			t.Errorf("container %s: image %q; want a tagged image", c.Name, c.Image)
		}
		if c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation ||
			!exContains(c.SecurityContext.Capabilities.Drop, "ALL") || len(c.SecurityContext.Capabilities.Add) > 0 {
			t.Errorf("container %s: want allowPrivilegeEscalation false, capabilities drop ALL, add none", c.Name)
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				t.Errorf("container %s mounts undeclared volume %s", c.Name, m.Name)
			}
		}
		for _, e := range c.EnvFrom {
			if _, ok := docs["ConfigMap/"+e.ConfigMapRef.Name]; !ok {
				t.Errorf("container %s: envFrom ConfigMap %s is not declared", c.Name, e.ConfigMapRef.Name)
			}
		}
	}
	edge, agent := containers["edge"], containers["vault-agent"]
	if edge.Name == "" || agent.Name == "" {
		t.Fatalf("want containers edge and vault-agent; have %v", containers)
	}
	if agent.RestartPolicy != "Always" || !strings.HasPrefix(agent.Image, "hashicorp/vault:") || len(agent.Args) == 0 || agent.Args[0] != "agent" {
		t.Errorf("vault-agent: want a native sidecar (restartPolicy Always) running hashicorp/vault in agent mode; got %+v", agent)
	}

	// The edge container's environment names real agent variables.
	known := agentEnvNames(t)
	edgeEnv := docs["ConfigMap/edge-agent"].Data
	for k := range edgeEnv {
		if !known[k] {
			t.Errorf("ConfigMap edge-agent: %s is not a variable of edgectl agent", k)
		}
	}
	// The drain must end before Kubernetes kills the pod.
	if drain, err := time.ParseDuration(edgeEnv["EDGE_DRAIN_TIMEOUT"]); err != nil ||
		drain >= time.Duration(pod.TerminationGrace)*time.Second {
		t.Errorf("EDGE_DRAIN_TIMEOUT %q (%v); want a duration below terminationGracePeriodSeconds %d",
			edgeEnv["EDGE_DRAIN_TIMEOUT"], err, pod.TerminationGrace)
	}

	// Vault Agent's config: Kubernetes auth, and a sink file that is the token edge reads.
	hclSrc := docs["ConfigMap/edge-vault-agent"].Data["vault-agent.hcl"]
	if !strings.Contains(exContainsArg(agent.Args, "-config="), "vault-agent.hcl") {
		t.Errorf("vault-agent args %q do not load vault-agent.hcl", agent.Args)
	}
	var cfg map[string]any
	if err := hcl.Decode(&cfg, hclSrc); err != nil {
		t.Fatalf("vault-agent.hcl: %v", err)
	}
	if methods := hclBlock(t, cfg, "auto_auth", "method"); len(methods) != 1 {
		t.Errorf("vault-agent.hcl: want one auth method; got %v", methods)
	}
	k8s := hclBlock(t, cfg, "auto_auth", "method", "kubernetes")
	mcfg := hclBlock(t, k8s, "config")
	if k8s["mount_path"] != "auth/kubernetes" || mcfg["role"] != "edge" {
		t.Errorf("kubernetes method: mount_path %v role %v; want auth/kubernetes and edge (vault-setup.sh)", k8s["mount_path"], mcfg["role"])
	}
	if tp, _ := mcfg["token_path"].(string); mountedAt(agent, tp) != "vault-sa-token" {
		t.Errorf("token_path %q is not in the projected service-account token volume of vault-agent", tp)
	}
	if sinks := hclBlock(t, cfg, "auto_auth", "sink"); len(sinks) != 1 {
		t.Errorf("vault-agent.hcl: want one sink; got %v", sinks)
	}
	sinkCfg := hclBlock(t, cfg, "auto_auth", "sink", "file", "config")
	sinkPath, _ := sinkCfg["path"].(string)
	if got := exContainsArg(edge.Args, "--vault-token-file="); got != sinkPath {
		t.Errorf("edge --vault-token-file=%q; want the sink %q", got, sinkPath)
	}
	if edgeEnv["VAULT_TOKEN_FILE"] != sinkPath {
		t.Errorf("edge-agent VAULT_TOKEN_FILE=%q; want the sink %q", edgeEnv["VAULT_TOKEN_FILE"], sinkPath)
	}
	if v := mountedAt(agent, sinkPath); v == "" || v != mountedAt(edge, sinkPath) {
		t.Errorf("sink %s: vault-agent writes it on volume %q, edge reads volume %q; want one shared volume", sinkPath, v, mountedAt(edge, sinkPath))
	}
	t.Log("not checked here: a Vault Agent login, which needs a Kubernetes API server for TokenReview; see TestExampleKubernetesVaultSetup")
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
