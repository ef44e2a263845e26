package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// configRepo is a git work tree holding a copy of examples/config, committed once.
type configRepo struct {
	t   *testing.T
	dir string
}

func newConfigRepo(t *testing.T) *configRepo { return newConfigRepoIn(t, "") }

// newConfigRepoIn makes a git repository holding examples/config in its directory sub
// ("" for the root), committed.
func newConfigRepoIn(t *testing.T, sub string) *configRepo {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join("..", "..", "examples", "config"))); err != nil {
		t.Fatal(err)
	}
	c := &configRepo{t: t, dir: dir}
	c.git("init", "-q")
	c.commit("example config")
	return c
}

func (c *configRepo) write(name, content string) {
	c.t.Helper()
	p := filepath.Join(c.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *configRepo) remove(name string) {
	c.t.Helper()
	if err := os.Remove(filepath.Join(c.dir, filepath.FromSlash(name))); err != nil {
		c.t.Fatal(err)
	}
}

func (c *configRepo) read(name string) string {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(name)))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

func (c *configRepo) commit(msg string) string {
	c.t.Helper()
	c.git("add", "--all")
	c.git("commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", msg)
	return strings.TrimSpace(c.git("rev-parse", "HEAD"))
}

// git runs the git CLI in the work tree with a fixed identity and no user configuration.
func (c *configRepo) git(args ...string) string {
	c.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.test"}, args...)...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

const badUpstream = `package edge

sites: acme: {
	hosts: ["acme.example.test"]
	cert: "certs/acme.pem"
	key: path: "edge/acme"
	routes: "/": upstreams: ["http://10.9.9.9:80"]
	routes: "/x": upstream: ["http://127.0.0.1:1"]
}
`

func TestValidate(t *testing.T) {
	repo := newConfigRepo(t)
	good := repo.dir
	bad := newConfigRepo(t)
	bad.write("sites/acme.cue", badUpstream)
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"valid", []string{"validate", good}, exitOK, []string{"valid: 7 sites, 0 warnings"}},
		{"valid flags after dir", []string{"validate", good, "--format", "json"}, exitOK, []string{`"valid": true`, `"sites": 7`}},
		{"invalid text", []string{"validate", bad.dir}, exitInvalid, []string{
			filepath.Join(bad.dir, "sites/acme.cue") + `:8:16: error: unknown field "upstream" in route "/x"; did you mean "upstreams"?`,
			"invalid: 1 error, 0 warnings"}},
		{"invalid github", []string{"validate", "--format=github", bad.dir}, exitInvalid, []string{
			"::error file=" + escapeProp(filepath.Join(bad.dir, "sites/acme.cue")) + ",line=8,col=16::unknown field"}},
		{"invalid json", []string{"validate", "--format", "json", bad.dir}, exitInvalid, []string{`"valid": false`, `"line": 8`, `"severity": "error"`}},
		{"expiry window from flag", []string{"validate", "--error-within", "9000d", good}, exitInvalid, []string{"within 9000d (cert_error_within)"}},
		{"warning window from flag", []string{"validate", "--warn-within", "9000d", "--error-within", "0s", good}, exitOK, []string{"warning: certs/acme.pem: certificate expires", "valid: 7 sites, 6 warnings"}},
		{"missing dir", []string{"validate", filepath.Join(good, "nope")}, exitUsage, nil},
		{"bad format", []string{"validate", "--format", "xml", good}, exitUsage, nil},
		{"bad duration", []string{"validate", "--warn-within", "soon", good}, exitUsage, nil},
		{"two dirs", []string{"validate", good, good}, exitUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, c := range tt.contains {
				if !strings.Contains(out, c) {
					t.Errorf("stdout lacks %q:\n%s", c, out)
				}
			}
		})
	}
}

func TestValidateRev(t *testing.T) {
	repo := newConfigRepo(t)
	repo.write("sites/acme.cue", badUpstream)
	repo.commit("break acme")
	// Fix it in the work tree only: --rev must read the commit, not the files.
	repo.write("sites/acme.cue", strings.Replace(badUpstream, "upstream:", "upstreams:", 1))

	code, out, _ := runCmd("validate", "--rev", "HEAD", repo.dir)
	if code != exitInvalid || !strings.Contains(out, "sites/acme.cue:8:16: error: unknown field") {
		t.Errorf("--rev HEAD: exit %d; want 1 with the error at sites/acme.cue:8:16:\n%s", code, out)
	}
	if code, out, _ := runCmd("validate", "--rev", "HEAD~1", repo.dir); code != exitOK {
		t.Errorf("--rev HEAD~1: exit %d; want 0:\n%s", code, out)
	}
	if code, _, errOut := runCmd("validate", "--rev", "no-such-branch", repo.dir); code != exitUsage {
		t.Errorf("--rev no-such-branch: exit %d; want 2 (%s)", code, errOut)
	}
	var res struct {
		Valid       bool `json:"valid"`
		Diagnostics []struct {
			File string `json:"file"`
			Line int    `json:"line"`
		} `json:"diagnostics"`
	}
	_, out, _ = runCmd("validate", "--rev", "HEAD", "--format", "json", repo.dir)
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if res.Valid || len(res.Diagnostics) == 0 || res.Diagnostics[0].File != "sites/acme.cue" {
		t.Errorf("json: %+v", res)
	}
}

// TestValidateRevSymlink: a committed link out of the repo is a diagnostic, not a read.
func TestValidateRevSymlink(t *testing.T) {
	repo := newConfigRepo(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(repo.dir, "sites", "evil.cue")); err != nil {
		t.Fatal(err)
	}
	repo.commit("link out")
	code, out, _ := runCmd("validate", "--rev", "HEAD", repo.dir)
	if code != exitInvalid || !strings.Contains(out, "sites/evil.cue:1:1: error: sites/evil.cue is a symbolic link to") || !strings.Contains(out, "outside the repo") {
		t.Errorf("exit %d; want 1 naming the link:\n%s", code, out)
	}
}

func TestGithubAnnotationEscapes(t *testing.T) {
	got := escapeData("50%\nnext") + "|" + escapeProp("a,b:c")
	if want := "50%25%0Anext|a%2Cb%3Ac"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

// TestValidateAndPlanSubdir: a config kept in a directory of a larger repository, read at a
// revision with --subdir (as the agent's --subdir); diagnostics name files from the
// repository's root, as CI annotations need.
func TestValidateAndPlanSubdir(t *testing.T) {
	repo := newConfigRepoIn(t, "config")
	dir := repo.dir
	repo.write("README.md", "the app's own repository\n")
	good := repo.commit("a readme beside config/")
	repo.write("config/sites/acme.cue", badUpstream)
	repo.commit("break acme")

	if code, out, errOut := runCmd("validate", "--rev", good, "--subdir", "config", dir); code != exitOK || !strings.Contains(out, "valid: 7 sites") {
		t.Errorf("good revision: exit %d; want 0 with 7 sites\n%s%s", code, out, errOut)
	}
	code, out, _ := runCmd("validate", "--rev", "HEAD", "--subdir", "config/", "--format", "github", dir)
	if code != exitInvalid || !strings.Contains(out, "::error file=config/sites/acme.cue,line=8,col=16::") {
		t.Errorf("bad revision: exit %d; want 1 with an annotation on config/sites/acme.cue:8:16\n%s", code, out)
	}
	if code, _, errOut := runCmd("validate", "--subdir", "config", dir); code != exitUsage || !strings.Contains(errOut, "--subdir needs --rev") {
		t.Errorf("--subdir without --rev: exit %d (%s); want 2", code, errOut)
	}
	if code, _, errOut := runCmd("validate", "--rev", "HEAD", "--subdir", "nope", dir); code != exitUsage || !strings.Contains(errOut, "nope") {
		t.Errorf("missing subdir: exit %d (%s); want 2 naming it", code, errOut)
	}
	code, out, errOut := runCmd("plan", "--repo", dir, "--subdir", "config", good, "HEAD")
	if code != exitInvalid || !strings.Contains(out, "config/sites/acme.cue:8:16") {
		t.Errorf("plan: exit %d; want 1 naming config/sites/acme.cue:8:16\n%s%s", code, out, errOut)
	}
}
