package gitsource

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/tests/testenv"
)

// A TreeFS tells the schema loader what changed since an earlier revision.
var _ schema.DiffFS = (*TreeFS)(nil)

// TestTreeFSChangedSince: files changed, added and removed are named; a directory added,
// removed or turned into a file is named itself; unchanged directories and files are not,
// with the nodes shared (incremental read) or not (a fresh read of the same commit).
func TestTreeFSChangedSince(t *testing.T) {
	r := testenv.NewGitRepo(t)
	first := r.CommitStrings("first", map[string]string{
		"keep/a":      "a\n",
		"keep/sub/b":  "b\n",
		"change/c":    "c1\n",
		"change/gone": "gone\n",
		"mode.sh":     "#!/bin/sh\n",
		"swap":        "a file\n",
		"dir/x":       "x\n",
		"dir/y/z":     "z\n",
	})
	r.WriteFiles(map[string][]byte{
		"change/c":     []byte("c2\n"),
		"change/gone":  nil,
		"swap":         nil,
		"dir/x":        nil,
		"dir/y/z":      nil,
		"change/added": []byte("new\n"),
		"new/deep/f":   []byte("f\n"),
	})
	r.WriteFiles(map[string][]byte{"swap/inner": []byte("now a directory\n")})
	if err := os.Chmod(filepath.Join(r.Dir, "mode.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	second := r.Commit("second", nil)
	repo, err := git.PlainOpen(r.Bare)
	if err != nil {
		t.Fatal(err)
	}
	read := func(h string, prev *TreeFS) *TreeFS {
		c, err := repo.CommitObject(plumbing.NewHash(h))
		if err != nil {
			t.Fatal(err)
		}
		rev, err := readCommit(context.Background(), repo.Storer, c, ".", prev)
		if err != nil {
			t.Fatal(err)
		}
		return rev.FS.(*TreeFS)
	}
	fs1 := read(first, nil)
	want := []string{"change/added", "change/c", "change/gone", "dir", "mode.sh", "new", "swap"}
	for name, fs2 := range map[string]*TreeFS{"incremental": read(second, fs1), "fresh": read(second, nil)} {
		got, ok := fs2.ChangedSince(fs1)
		slices.Sort(got)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("%s read: ChangedSince = %q, %v; want %q", name, got, ok, want)
		}
		if back, _ := fs1.ChangedSince(fs2); len(back) != len(want) {
			t.Errorf("%s read: the other way round %q; want %d paths", name, back, len(want))
		}
	}
	if got, ok := fs1.ChangedSince(read(first, nil)); !ok || len(got) != 0 {
		t.Errorf("same commit: %q, %v; want nothing", got, ok)
	}
	if _, ok := fs1.ChangedSince(os.DirFS(".")); ok {
		t.Error("compared with another kind of file system")
	}
}
