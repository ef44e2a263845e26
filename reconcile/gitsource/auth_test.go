package gitsource

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// TestGitSourceSSH polls through a real sshd with a key and known_hosts checking.
func TestGitSourceSSH(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n"})
	srv := testenv.StartGitSSH(t, repo.Bare)

	src := newSource(t, Options{URL: srv.URL, Ref: "main", Subdir: "sites",
		Auth: Auth{SSHKeyFile: srv.KeyFile, KnownHostsFile: srv.KnownHostsFile}, Timeout: 30 * time.Second})
	rev := pollOK(t, src, true, c1)
	if got := readString(t, rev.FS, "a.cue"); got != "a: 1\n" {
		t.Errorf("a.cue = %q", got)
	}
	pollOK(t, src, false, c1)
	c2 := repo.CommitStrings("two", map[string]string{"sites/a.cue": "a: 2\n"})
	rev = pollOK(t, src, true, c2)
	if got := readString(t, rev.FS, "a.cue"); got != "a: 2\n" {
		t.Errorf("a.cue = %q", got)
	}

	empty := filepath.Join(t.TempDir(), "empty_known_hosts")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, kh := range map[string]string{"wrong host key": srv.OtherKnownHostsFile, "unknown host": empty} {
		t.Run(name, func(t *testing.T) {
			src := newSource(t, Options{URL: srv.URL, Ref: "main",
				Auth: Auth{SSHKeyFile: srv.KeyFile, KnownHostsFile: kh}, Timeout: 30 * time.Second})
			_, _, err := src.Poll(context.Background())
			if err == nil || !strings.Contains(err.Error(), "knownhosts") {
				t.Fatalf("Poll = %v; want a known hosts error", err)
			}
			t.Logf("%s: %v", name, err)
		})
	}
}

func TestGitAuthSSHKeyErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad_key")
	if err := os.WriteFile(bad, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{URL: "ssh://git@127.0.0.1:1/r.git", Auth: Auth{SSHKeyFile: bad}})
	if err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("error %v; want it to name the key file and not its content", err)
	}
	_, err = New(Options{URL: "ssh://git@127.0.0.1:1/r.git",
		Auth: Auth{SSHKeyFile: filepath.Join(dir, "missing")}})
	if err == nil {
		t.Error("missing key file accepted")
	}
}

// TestRedactURL: no credential of a repo URL reaches messages, status or the state dir,
// whether it is a password, a user name used as a token, or a query parameter.
func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://git.example/hosting/config.git":             "https://git.example/hosting/config.git",
		"https://user:secret@git.example/config.git":         "https://git.example/config.git",
		"https://ghp_token123@git.example/config.git":        "https://git.example/config.git",
		"https://git.example/config.git?access_token=secret": "https://git.example/config.git",
		"ssh://git@git.example/config.git":                   "ssh://git@git.example/config.git",
		"ssh://git:secret@git.example/config.git":            "ssh://git:xxxxx@git.example/config.git",
		"git@git.example:hosting/config.git":                 "git@git.example:hosting/config.git",
	} {
		got := redactURL(raw)
		if got != want {
			t.Errorf("redactURL(%q) = %q; want %q", raw, got, want)
		}
		for _, secret := range []string{"secret", "ghp_token123"} {
			if strings.Contains(got, secret) {
				t.Errorf("redactURL(%q) = %q: it keeps %q", raw, got, secret)
			}
		}
	}
}
