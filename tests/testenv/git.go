package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitRepo is a config repo for tests: a bare repository (Bare, what the git servers of this
// package serve) and a work tree cloned from it (Dir) where commits are authored with the
// git CLI and pushed to Bare. Commits have a fixed author and committer ("Edge Test
// <test@edge.invalid>") and dates that start at GitEpoch and advance one second per commit,
// so hashes are reproducible and two commits never share a hash by accident. The user's and
// the system's git configuration are ignored.
//
// Create one with NewGitRepo; its methods fail the test on error and are safe for concurrent
// use.
type GitRepo struct {
	// Bare is the bare repository's directory, named "config.git", alone in its parent
	// directory (Root), so servers can export Root.
	Bare string
	// Root is the directory holding Bare: the project root a git server exports.
	Root string
	// Dir is the work tree whose origin is Bare.
	Dir string
	// Branch is the branch commits go to ("main").
	Branch string

	t     testing.TB
	mu    sync.Mutex
	clock int
	home  string
}

// GitEpoch is the author and committer date of the first commit GitRepo makes.
var GitEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// GitBinary returns the path of the git CLI. When git is missing the test is skipped, or
// fails when the environment variable CI is "true" (Debian package: git).
func GitBinary(t testing.TB) string {
	t.Helper()
	return NeedTool(t, "git", "git")
}

// NeedTool returns the path of the tool name, found on PATH. When it is missing the test
// is skipped, or fails when the environment variable CI is "true" (where .ci/run installs
// it); the message names the Debian package pkg.
func NeedTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: %s not found on PATH (install the Debian package %s): %v", name, pkg, err)
		}
		t.Skipf("testenv: %s not found on PATH (install the Debian package %s)", name, pkg)
	}
	return p
}

// NewGitRepo creates an empty bare repository and a work tree on branch "main" in temp
// directories removed when the test ends. Nothing is committed yet: call Commit.
func NewGitRepo(t testing.TB) *GitRepo {
	t.Helper()
	GitBinary(t)
	root := t.TempDir()
	r := &GitRepo{
		Root:   root,
		Bare:   filepath.Join(root, "config.git"),
		Dir:    filepath.Join(t.TempDir(), "work"),
		Branch: "main",
		t:      t,
		home:   t.TempDir(),
	}
	r.run("", "init", "--quiet", "--bare", "--initial-branch="+r.Branch, r.Bare)
	r.run("", "init", "--quiet", "--initial-branch="+r.Branch, r.Dir)
	r.Git("remote", "add", "origin", r.Bare)
	return r
}

// Env returns the environment every git command of r runs with: no user or system config,
// fixed identity, and dates from the repo's clock. Useful to run git yourself.
func (r *GitRepo) Env() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.envLocked()
}

func (r *GitRepo) envLocked() []string {
	date := GitEpoch.Add(time.Duration(r.clock) * time.Second).Format(time.RFC3339)
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+r.home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=Edge Test", "GIT_AUTHOR_EMAIL=test@edge.invalid", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Edge Test", "GIT_COMMITTER_EMAIL=test@edge.invalid", "GIT_COMMITTER_DATE="+date,
		"GIT_TERMINAL_PROMPT=0",
	)
}

// Git runs git with args in the work tree and returns its trimmed standard output.
func (r *GitRepo) Git(args ...string) string {
	r.t.Helper()
	return r.run(r.Dir, args...)
}

// GitBare runs git with args in the bare repository and returns its trimmed standard output.
func (r *GitRepo) GitBare(args ...string) string {
	r.t.Helper()
	return r.run(r.Bare, args...)
}

func (r *GitRepo) run(dir string, args ...string) string {
	r.t.Helper()
	return r.runStdin(dir, "", args...)
}

// gitStdin is Git with stdin as the command's standard input.
func (r *GitRepo) gitStdin(stdin string, args ...string) string {
	r.t.Helper()
	return r.runStdin(r.Dir, stdin, args...)
}

func (r *GitRepo) runStdin(dir, stdin string, args ...string) string {
	r.t.Helper()
	r.mu.Lock()
	env := r.envLocked()
	r.mu.Unlock()
	cmd := exec.Command("git", append([]string{"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("testenv: git %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// WriteFiles writes files into the work tree without committing. Keys are slash-separated
// paths relative to the work tree; parent directories are created. A nil value removes the
// file (use []byte{} for an empty file). A value starting with "symlink:" creates a symbolic
// link to the rest of the value.
func (r *GitRepo) WriteFiles(files map[string][]byte) {
	r.t.Helper()
	for name, data := range files {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if data == nil {
			if err := os.RemoveAll(p); err != nil {
				r.t.Fatalf("testenv: remove %s: %v", name, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatalf("testenv: %v", err)
		}
		if target, ok := bytes.CutPrefix(data, []byte("symlink:")); ok {
			_ = os.Remove(p)
			if err := os.Symlink(string(target), p); err != nil {
				r.t.Fatalf("testenv: symlink %s: %v", name, err)
			}
			continue
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			r.t.Fatalf("testenv: write %s: %v", name, err)
		}
	}
}

// Commit writes files (see WriteFiles), stages everything, commits with msg, pushes the
// branch to Bare and returns the new commit's hash. An empty files map makes an empty
// commit.
func (r *GitRepo) Commit(msg string, files map[string][]byte) string {
	r.t.Helper()
	r.commitLocal(msg, files)
	r.Push()
	return r.Head()
}

// commitLocal writes files, stages everything and commits with msg, without pushing.
func (r *GitRepo) commitLocal(msg string, files map[string][]byte) {
	r.t.Helper()
	r.WriteFiles(files)
	r.tick()
	r.Git("add", "--all")
	r.Git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", msg)
}

// CommitStrings is Commit with string contents.
func (r *GitRepo) CommitStrings(msg string, files map[string]string) string {
	r.t.Helper()
	b := make(map[string][]byte, len(files))
	for k, v := range files {
		b[k] = []byte(v)
	}
	return r.Commit(msg, b)
}

// Push pushes the branch to Bare (fast-forward only).
func (r *GitRepo) Push() {
	r.t.Helper()
	r.Git("push", "--quiet", "origin", r.Branch)
}

// ForcePush pushes the branch to Bare even if that rewrites its history.
func (r *GitRepo) ForcePush() {
	r.t.Helper()
	r.Git("push", "--quiet", "--force", "origin", r.Branch)
}

// Rewrite replaces history: the branch is reset to rev (e.g. "HEAD~1"), then files are
// committed with msg and force-pushed. It returns the new commit's hash, which is not a
// descendant of the previous head.
func (r *GitRepo) Rewrite(rev, msg string, files map[string][]byte) string {
	r.t.Helper()
	r.Git("reset", "--quiet", "--hard", rev)
	r.commitLocal(msg, files)
	r.ForcePush()
	return r.Head()
}

// Tag creates the annotated tag name at HEAD with message msg and pushes it.
func (r *GitRepo) Tag(name, msg string) {
	r.t.Helper()
	r.tick()
	r.Git("tag", "--annotate", "--force", "-m", msg, name)
	r.Git("push", "--quiet", "--force", "origin", "refs/tags/"+name)
}

// Head returns the hash of the work tree's HEAD commit.
func (r *GitRepo) Head() string {
	r.t.Helper()
	return r.Git("rev-parse", "HEAD")
}

// RemoteHead returns the hash the branch has in Bare.
func (r *GitRepo) RemoteHead() string {
	r.t.Helper()
	return r.GitBare("rev-parse", "refs/heads/"+r.Branch)
}

// tick advances the clock used for the next commit's dates.
func (r *GitRepo) tick() {
	r.mu.Lock()
	r.clock++
	r.mu.Unlock()
}

// String describes the repo for test logs.
func (r *GitRepo) String() string { return fmt.Sprintf("git repo %s (work tree %s)", r.Bare, r.Dir) }
