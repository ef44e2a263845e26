package gitsource

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// TestGitSourceSSHEndlessAdvertisement polls a real sshd whose upload-pack (a forced
// command) turns hostile: it streams a reference advertisement without end. The poll must
// fail with ErrReplyTooLarge once MaxRefBytes (and the SSH framing allowance) is read, not
// at the timeout, with the memory it allocated bounded, and the Source keeps its revision.
func TestGitSourceSSHEndlessAdvertisement(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n"})
	script, flag := endlessAdvertisement(t, c1, `exec sh -c "$SSH_ORIGINAL_COMMAND"`)
	srv := testenv.StartGitSSHCommand(t, repo.Bare, script)

	const maxRefBytes = 256 << 10
	src := newSource(t, Options{URL: srv.URL, Ref: "main", Subdir: "sites", MaxRefBytes: maxRefBytes,
		Auth: Auth{SSHKeyFile: srv.KeyFile, KnownHostsFile: srv.KnownHostsFile}, Timeout: 5 * time.Minute})
	pollOK(t, src, true, c1)

	writeTestFile(t, flag, nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, _, err := src.Poll(ctx)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrReplyTooLarge) || !strings.Contains(err.Error(), "(MaxRefBytes") {
		t.Fatalf("Poll of an endless advertisement = %v; want ErrReplyTooLarge naming MaxRefBytes", err)
	}
	if src.last == nil || src.last.Commit != c1 {
		t.Errorf("the revision held changed")
	}
	// What the poll read from the server: at most the limit and its SSH allowance.
	limit := int64(maxRefBytes) + sshFraming(maxRefBytes)
	if read := limit - src.wire.left; read > limit || read < maxRefBytes/2 {
		t.Errorf("read %d bytes from the server; want between %d and %d", read, maxRefBytes/2, limit)
	}
	// Without the bound the stream is decoded until the timeout: gigabytes. With it, the
	// poll allocates a small multiple of what it read (SSH buffers, decoded references).
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("the poll allocated %d bytes; want at most 64 MiB for a %d-byte limit", alloc, maxRefBytes)
	}
	t.Logf("poll: %v", err)

	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	c2 := repo.CommitStrings("two", map[string]string{"sites/a.cue": "a: 2\n"})
	if rev := pollOK(t, src, true, c2); readString(t, rev.FS, "a.cue") != "a: 2\n" {
		t.Errorf("a.cue after the server recovered")
	}
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestGitSourceSSHSmallRefLimitBigPack fetches over a real sshd a pack far larger than a
// small MaxRefBytes: x/crypto/ssh reads up to a channel window (2 MiB) of the pack ahead of
// go-git, before the pack's allowance is added, and that must not count as a reply too
// large.
func TestGitSourceSSHSmallRefLimitBigPack(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	raw := make([]byte, 3<<20)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	big := base64.StdEncoding.EncodeToString(raw) // 4 MiB that compress to about 3
	c1 := repo.CommitStrings("big", map[string]string{"sites/a.cue": "a: 1\n", "sites/big.txt": big})
	srv := testenv.StartGitSSH(t, repo.Bare)
	src := newSource(t, Options{URL: srv.URL, Ref: "main", Subdir: "sites", MaxRefBytes: 64 << 10,
		Auth: Auth{SSHKeyFile: srv.KeyFile, KnownHostsFile: srv.KnownHostsFile}, Timeout: 5 * time.Minute})
	if rev := pollOK(t, src, true, c1); readString(t, rev.FS, "big.txt") != big {
		t.Errorf("big.txt fetched over SSH differs")
	}
}

// endlessAdvertisement writes an upload-pack stand-in that, while the file flag exists,
// sends a reference advertisement for commit without end (its first line, then 4 MiB of
// references over and over) and otherwise runs sane, the shell line that runs the real
// upload-pack. It returns the script and flag paths (flag not created).
func endlessAdvertisement(t *testing.T, commit, sane string) (script, flag string) {
	t.Helper()
	dir := t.TempDir()
	flag = filepath.Join(dir, "hostile")
	head, chunk := filepath.Join(dir, "head"), filepath.Join(dir, "refs")
	writeTestFile(t, head, pkt(commit+" HEAD\x00multi_ack side-band-64k ofs-delta shallow\n"))
	var b bytes.Buffer
	for i := 0; b.Len() < 4<<20; i++ {
		b.Write(pkt(fmt.Sprintf("%s refs/heads/b%08d\n", commit, i)))
	}
	writeTestFile(t, chunk, b.Bytes())
	script = filepath.Join(dir, "upload-pack")
	writeTestFile(t, script, []byte(fmt.Sprintf("#!/bin/sh\nif [ -e %q ]; then\n\tcat %q\n\twhile cat %q; do :; done\n\texit 1\nfi\n%s\n", flag, head, chunk, sane)))
	if err := os.Chmod(script, 0o700); err != nil {
		t.Fatal(err)
	}
	return script, flag
}
