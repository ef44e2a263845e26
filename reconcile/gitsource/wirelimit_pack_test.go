package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// TestGitSourceEndlessPackSSHAndGit polls a real sshd and a real git daemon whose
// upload-pack turns hostile after the advertisement: it answers a fetch with NAK and then
// side-band progress without end. The fetch fails with ErrPackTooLarge once the pack's
// allowance (MaxPackBytes on the wire, plus the SSH framing over SSH) is read, not at the
// timeout, with its allocations bounded, and the Source keeps its revision.
func TestGitSourceEndlessPackSSHAndGit(t *testing.T) {
	git := testenv.GitBinary(t)
	if p, err := exec.LookPath(git); err == nil {
		git = p
	}
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n"})
	dir := t.TempDir()
	flag := filepath.Join(dir, "hostile")
	chunk := filepath.Join(dir, "progress")
	var b bytes.Buffer
	for b.Len() < 1<<20 {
		b.Write(pkt("\x02counting objects " + strings.Repeat("x", 1000) + "\r"))
	}
	writeTestFile(t, chunk, b.Bytes())
	hostile := fmt.Sprintf("if [ -e %q ]; then\n\t%q upload-pack --advertise-refs --strict %q\n"+
		"\twhile read -r line; do case \"$line\" in *done) break;; esac; done\n"+
		"\tprintf '00000008NAK\\n' # no shallow lines, a flush, NAK\n\twhile cat %q; do :; done\n\texit 1\nfi\n", flag, git, repo.Bare, chunk)
	sshScript, gitScript := filepath.Join(dir, "ssh-upload-pack"), filepath.Join(dir, "git-upload-pack")
	writeTestFile(t, sshScript, []byte("#!/bin/sh\n"+hostile+"exec sh -c \"$SSH_ORIGINAL_COMMAND\"\n"))
	writeTestFile(t, gitScript, []byte("#!/bin/sh\n"+hostile+"exec \"$GIT_REAL\" upload-pack \"$@\"\n"))
	for _, s := range []string{sshScript, gitScript} {
		if err := os.Chmod(s, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sshd := testenv.StartGitSSHCommand(t, repo.Bare, sshScript)
	daemon := testenv.StartGitDaemonUploadPack(t, repo.Bare, gitScript)

	const maxPack = 2 << 20
	sources := map[string]*Source{
		"ssh": newSource(t, Options{URL: sshd.URL, Ref: "main", Subdir: "sites", MaxPackBytes: maxPack, Timeout: 5 * time.Minute,
			Auth: Auth{SSHKeyFile: sshd.KeyFile, KnownHostsFile: sshd.KnownHostsFile}}),
		"git": newSource(t, Options{URL: daemon.URL, Ref: "main", Subdir: "sites", MaxPackBytes: maxPack, Timeout: 5 * time.Minute}),
	}
	for _, src := range sources {
		pollOK(t, src, true, c1)
	}
	repo.CommitStrings("two", map[string]string{"sites/a.cue": "a: 2\n"})
	writeTestFile(t, flag, nil)
	for name, src := range sources {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, _, err := src.Poll(ctx)
		cancel()
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrPackTooLarge) || !strings.Contains(err.Error(), "a fetch may receive on the wire (MaxPackBytes") {
			t.Errorf("%s: Poll of an endless pack = %v; want ErrPackTooLarge on the wire", name, err)
			continue
		}
		if src.last == nil || src.last.Commit != c1 {
			t.Errorf("%s: the revision held changed", name)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 128<<20 {
			t.Errorf("%s: the fetch allocated %d bytes; want at most 128 MiB for a %d-byte pack", name, alloc, maxPack)
		}
		t.Logf("%s: %v", name, err)
	}
}
