// The config repo's CI workflow (examples/github/edge-validate.yml): its run: steps
// executed on a pull request checkout of examples/config, with a stub of the gh CLI.

package tests

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
	"go.yaml.in/yaml/v3"
)

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

// ghCase is one pull request the workflow runs on: an edit of sites/shops.cue, and what the
// steps and the pull request comment should show.
type ghCase struct {
	name         string
	edit         func(src string) string // of sites/shops.cue
	wantValidate int
	wantPlan     int
	wantBody     []string
}

func TestExampleGitHubWorkflow(t *testing.T) {
	root := exRepoRoot(t)
	testenv.NeedTool(t, "git", "git")
	bash := testenv.NeedTool(t, "bash", "bash")
	steps := ghJobSteps(t, root)
	modPath := regexp.MustCompile(`(?m)^module (\S+)`).FindStringSubmatch(exReadFile(t, filepath.Join(root, "go.mod")))[1]
	bin := exEdgectl(t)

	tests := []ghCase{
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
			run := newGHRun(t, dir, ghCheckout(t, root, dir, tc.edit), bin, bash, modPath)
			for _, st := range steps {
				run.step(t, st)
			}
			run.check(t, tc)
		})
	}
}

// ghJobSteps reads examples/github/edge-validate.yml: a pull_request workflow whose job
// validate has steps.
func ghJobSteps(t testing.TB, root string) []ghStep {
	t.Helper()
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
	return job.Steps
}

// ghCheckout makes below dir an "origin" repo holding examples/config on its main branch and
// a "work" clone of it with a pull request's commit (edit applied to sites/shops.cue) on
// branch change, and returns work. actions/checkout with fetch-depth: 0 gives the same:
// origin/main and HEAD.
func ghCheckout(t testing.TB, root, dir string, edit func(string) string) string {
	t.Helper()
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
	if edited := edit(src); edited == src {
		t.Fatal("the edit changed nothing")
	} else if err := os.WriteFile(shops, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	exGit(t, work, "commit", "-q", "-am", "change shops")
	return work
}

// ghRun is the workflow's job running on a pull request checkout, as a GitHub runner would
// run it, with edgectl and a gh stub first on PATH.
type ghRun struct {
	dir, work      string // temp root; the pull request checkout
	bash, modPath  string
	ghLog, summary string
	exprs          map[string]string // the ${{ }} expressions the workflow may use
	env            []string          // the runner's environment
	exit           map[string]int    // step name -> exit status
	outputs        map[string]string // step name -> combined output
}

func newGHRun(t testing.TB, dir, work, bin, bash, modPath string) *ghRun {
	t.Helper()
	stubs := filepath.Join(dir, "bin")
	os.MkdirAll(stubs, 0o755)
	if err := os.Symlink(bin, filepath.Join(stubs, "edgectl")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stubs, "gh"), []byte(ghStub), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &ghRun{
		dir: dir, work: work, bash: bash, modPath: modPath,
		ghLog:   filepath.Join(dir, "gh.log"),
		summary: filepath.Join(dir, "step-summary.md"),
		exprs: map[string]string{
			"github.token":                     "ghs_test",
			"github.repository":                "hosting/edge-config",
			"github.event.pull_request.number": "7",
			"github.base_ref":                  "main",
			"!cancelled()":                     "true",
		},
		exit:    map[string]int{},
		outputs: map[string]string{},
	}
	r.env = append(os.Environ(),
		"PATH="+stubs+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+dir, "CI=true", "GITHUB_ACTIONS=true",
		"GITHUB_STEP_SUMMARY="+r.summary, "GITHUB_OUTPUT="+filepath.Join(dir, "output"),
		"GH_STUB_LOG="+r.ghLog)
	return r
}

// step runs st unless skip says it is not run here, and records its exit status and output.
func (r *ghRun) step(t testing.TB, st ghStep) {
	t.Helper()
	if r.skip(t, st) {
		return
	}
	stepEnv := append([]string(nil), r.env...)
	for k, v := range st.Env {
		stepEnv = append(stepEnv, k+"="+ghExpand(t, v, r.exprs))
	}
	// GitHub runs run: blocks with `bash --noprofile --norc -eo pipefail {0}`.
	script := filepath.Join(r.dir, "step.sh")
	if err := os.WriteFile(script, []byte(ghExpand(t, st.Run, r.exprs)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, r.bash, "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir, cmd.Env = r.work, stepEnv
	out, err := cmd.CombinedOutput()
	cancel()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("step %q: %v", st.Name, err)
	}
	r.exit[st.Name], r.outputs[st.Name] = code, string(out)
	t.Logf("step %q: exit %d\n%s", st.Name, code, out)
}

// skip reports whether st is not run here: the actions this test stands in for (checking
// their inputs), the go install step (checking what it installs), and steps whose if: is
// false.
func (r *ghRun) skip(t testing.TB, st ghStep) bool {
	t.Helper()
	switch {
	case strings.HasPrefix(st.Uses, "actions/checkout@"):
		if fd := st.With["fetch-depth"]; fd != 0 {
			t.Errorf("checkout fetch-depth = %v; want 0 (plan needs origin/BASE)", fd)
		}
		return true
	case strings.HasPrefix(st.Uses, "actions/setup-go@"):
		return true // the go toolchain running this test
	case st.Uses != "":
		t.Fatalf("step uses %s, unknown to this test", st.Uses)
	}
	if strings.HasPrefix(st.Run, "go install ") {
		// Not run: the module is not fetched from the proxy here. Check the package it
		// names is this module's edgectl; exEdgectl built that from this tree.
		pkg, _, _ := strings.Cut(strings.Fields(st.Run)[2], "@")
		if pkg != r.modPath+"/cmd/edgectl" {
			t.Errorf("install step installs %s; want %s/cmd/edgectl", pkg, r.modPath)
		}
		return true
	}
	return st.If != "" && ghExpand(t, "${{ "+strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(st.If), "${{"), "}}")+" }}", r.exprs) != "true"
}

// check compares the steps' exit statuses, the gh calls, the pull request comment and the
// step summary with what tc wants.
func (r *ghRun) check(t testing.TB, tc ghCase) {
	t.Helper()
	if got, ok := r.exit["Validate"]; !ok || got != tc.wantValidate {
		t.Errorf("Validate step exit %d (ran: %v); want %d", got, ok, tc.wantValidate)
	}
	if tc.wantValidate != 0 && !strings.Contains(r.outputs["Validate"], "::error file=sites/shops.cue,line=") {
		t.Errorf("Validate output has no GitHub annotation on sites/shops.cue:\n%s", r.outputs["Validate"])
	}
	if got, ok := r.exit["Plan"]; !ok || got != tc.wantPlan {
		t.Errorf("Plan step exit %d (ran: %v); want %d", got, ok, tc.wantPlan)
	}
	log := exReadFile(t, r.ghLog)
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
	if s := exReadFile(t, r.summary); !strings.Contains(s, "edge plan") {
		t.Errorf("step summary lacks the plan:\n%s", s)
	}
}
