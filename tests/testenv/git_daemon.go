package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// GitDaemon is a real git daemon (git:// protocol) on a loopback port, exporting one
// repository. Start one with StartGitDaemon; it stops when the test ends.
type GitDaemon struct {
	// URL is the repository's git:// URL, e.g. "git://127.0.0.1:40418/config.git".
	URL string
	// Addr is "127.0.0.1:port".
	Addr string

	proc serverProc
}

// StartGitDaemon runs git daemon exporting repoDir (for a GitRepo: r.Bare) and stops it on
// t.Cleanup.
func StartGitDaemon(t testing.TB, repoDir string) *GitDaemon {
	t.Helper()
	return StartGitDaemonUploadPack(t, repoDir, "")
}

// StartGitDaemonUploadPack is StartGitDaemon with the daemon's upload-pack replaced by
// the executable uploadPack (empty: none), e.g. a script standing in for a broken or
// hostile server. It runs in the repository with upload-pack's arguments, and
// $GIT_REAL names the real git binary ("$GIT_REAL" upload-pack "$@" is the real one).
func StartGitDaemonUploadPack(t testing.TB, repoDir, uploadPack string) *GitDaemon {
	t.Helper()
	git := GitBinary(t)
	abs, err := filepath.Abs(repoDir)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	out, err := exec.Command(git, "--exec-path").Output()
	if err != nil {
		t.Fatalf("testenv: git --exec-path: %v", err)
	}
	daemon := filepath.Join(strings.TrimSpace(string(out)), "git-daemon")
	env := os.Environ()
	if uploadPack != "" {
		// git daemon runs "git upload-pack" found on PATH: a git of ours, first on it.
		bin := t.TempDir()
		script := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = upload-pack ]; then shift; exec %q \"$@\"; fi\nexec %q \"$@\"\n", uploadPack, git)
		if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o700); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "GIT_REAL="+git)
	}
	g := &GitDaemon{proc: serverProc{name: "git daemon", group: true}}
	port := g.proc.startOnFreePort(t, func(port int) *exec.Cmd {
		cmd := exec.Command(daemon, "--base-path="+filepath.Dir(abs), "--export-all", "--informative-errors",
			"--listen=127.0.0.1", fmt.Sprintf("--port=%d", port), "--reuseaddr")
		cmd.Env = env
		return cmd
	}, waitListening)
	g.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	g.URL = "git://" + g.Addr + "/" + filepath.Base(abs)
	return g
}

// Stop stops git daemon and what it runs (SIGTERM to its process group, then SIGKILL
// after 5s). Stopping a stopped daemon does nothing.
func (g *GitDaemon) Stop() { g.proc.stop() }

// waitListening waits until addr accepts connections, or the server exited.
func waitListening(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("server exited")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on %s after 10s", addr)
}
