package gitsource

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// TestGitSourceGitDaemon polls a real git daemon over git:// through the Source's own
// git:// client: a first fetch, an unchanged poll, a thin fetch on top, a missing repo.
func TestGitSourceGitDaemon(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n", "sites/b.cue": "b: 1\n"})
	srv := testenv.StartGitDaemon(t, repo.Bare)

	src := newSource(t, Options{URL: srv.URL, Ref: "main", Subdir: "sites", Timeout: 30 * time.Second})
	if _, ok := src.client.(*limitedGit); !ok {
		t.Fatalf("git:// client is %T; want *limitedGit", src.client)
	}
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
	if got := readString(t, rev.FS, "b.cue"); got != "b: 1\n" {
		t.Errorf("b.cue = %q", got)
	}

	missing := newSource(t, Options{URL: strings.TrimSuffix(srv.URL, "config.git") + "missing.git", Ref: "main", Timeout: 30 * time.Second})
	if _, _, err := missing.Poll(context.Background()); err == nil {
		t.Fatal("Poll of a missing repository succeeded")
	} else {
		t.Logf("missing: %v", err)
	}
}

// TestGitSourceGitDaemonEndlessAdvertisement polls a real git daemon whose upload-pack
// turns hostile: it streams a reference advertisement without end. The poll fails with
// ErrReplyTooLarge as soon as MaxRefBytes is read (or, with a small MaxRefs, MaxRefs
// references), not at the timeout, with its allocations bounded, and the Source keeps its
// revision; once the server is sane again, polls work.
func TestGitSourceGitDaemonEndlessAdvertisement(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n"})
	script, flag := endlessAdvertisement(t, c1, `exec "$GIT_REAL" upload-pack "$@"`)
	srv := testenv.StartGitDaemonUploadPack(t, repo.Bare, script)

	const maxRefBytes = 256 << 10
	for _, tc := range []struct {
		name    string
		opts    Options
		wantMsg string
		most    int64 // bytes the poll may read
	}{
		{"MaxRefBytes", Options{MaxRefBytes: maxRefBytes}, "(MaxRefBytes", maxRefBytes},
		{"MaxRefs", Options{MaxRefs: 1000}, "more than 1000 references advertised (MaxRefs)", 1002 * 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Remove(flag)
			opts := tc.opts
			opts.URL, opts.Ref, opts.Subdir, opts.Timeout = srv.URL, "main", "sites", 5*time.Minute
			src := newSource(t, opts)
			pollOK(t, src, true, c1)

			writeTestFile(t, flag, nil)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			_, _, err := src.Poll(ctx)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrReplyTooLarge) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Poll of an endless advertisement = %v; want ErrReplyTooLarge with %q", err, tc.wantMsg)
			}
			if src.last == nil || src.last.Commit != c1 {
				t.Errorf("the revision held changed")
			}
			if read := src.wire.maxBytes - src.wire.left; read > tc.most {
				t.Errorf("read %d bytes from the server; want at most %d", read, tc.most)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("the poll allocated %d bytes; want at most 64 MiB", alloc)
			}
			t.Logf("poll: %v", err)

			if err := os.Remove(flag); err != nil {
				t.Fatal(err)
			}
			pollOK(t, src, false, c1)
		})
	}
}
