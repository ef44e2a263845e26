package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/tests/testenv"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// revisionRepo makes a repo with two commits and tags v1 (annotated, on the first) and
// light (lightweight, on the second). It returns the repo and the two commit hashes.
func revisionRepo(t *testing.T) (*testenv.GitRepo, string, string) {
	t.Helper()
	r := testenv.NewGitRepo(t)
	first := r.CommitStrings("first\n\nbody", map[string]string{
		"sites/a.cue":   "a: 1\n",
		"README.md":     "readme\n",
		"config/x.cue":  "x: 1\n",
		"config/x.cue2": "x2\n",
	})
	r.Tag("v1", "release 1")
	r.WriteFiles(map[string][]byte{
		"sites/b.cue":       []byte("b: 2\n"),
		"sites/link.cue":    []byte("symlink:a.cue"),
		"sites/escape.cue":  []byte("symlink:../../../etc/passwd"),
		"sites/dirlink":     []byte("symlink:../config"),
		"sites/deep/c.cue":  []byte("c: 3\n"),
		"sites/a.cue":       []byte("a: 2\n"),
		"sites/a.cue.d/x":   []byte("sorted after a.cue\n"),
		"config/x.cue2":     nil,
		"sites/script.sh":   []byte("#!/bin/sh\n"),
		"sites/empty.cue":   []byte{},
		"sites/deep/d/e.md": []byte("e\n"),
	})
	if err := os.Chmod(filepath.Join(r.Dir, "sites", "script.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	second := r.Commit("second", nil)
	r.Git("tag", "light")
	return r, first, second
}

func TestReadRevisionResolves(t *testing.T) {
	r, first, second := revisionRepo(t)
	tests := []struct {
		name, dir, rev string
		want           string
		wantMsg        string
	}{
		{"work tree HEAD", r.Dir, "", second, "second\n"},
		{"bare branch", r.Bare, "main", second, "second\n"},
		{"branch full ref", r.Bare, "refs/heads/main", second, "second\n"},
		{"HEAD~1", r.Dir, "HEAD~1", first, "first\n\nbody\n"},
		{"annotated tag", r.Bare, "v1", first, "first\n\nbody\n"},
		{"lightweight tag", r.Dir, "light", second, "second\n"},
		{"full hash", r.Bare, first, first, "first\n\nbody\n"},
		{"short hash", r.Bare, second[:8], second, "second\n"},
		{"work tree subdir", r.Dir + "/sites", "HEAD", second, "second\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev, err := ReadRevision(context.Background(), tt.dir, tt.rev, "")
			if err != nil {
				t.Fatal(err)
			}
			if rev.Commit != tt.want {
				t.Errorf("Commit = %s; want %s", rev.Commit, tt.want)
			}
			if rev.Message != tt.wantMsg {
				t.Errorf("Message = %q; want %q", rev.Message, tt.wantMsg)
			}
			if rev.Time.IsZero() || rev.Time.Before(testenv.GitEpoch) {
				t.Errorf("Time = %v; want after %v", rev.Time, testenv.GitEpoch)
			}
			wantTree := r.Git("rev-parse", tt.want+"^{tree}")
			if rev.Tree != wantTree {
				t.Errorf("Tree = %s; want %s", rev.Tree, wantTree)
			}
		})
	}
}

func TestReadRevisionErrors(t *testing.T) {
	r, _, _ := revisionRepo(t)
	tests := []struct {
		name, dir, rev, subdir string
		is                     error
		contains               string
	}{
		{"unknown branch", r.Bare, "nope", "", ErrRevisionNotFound, `revision "nope"`},
		{"too far back", r.Bare, "HEAD~5", "", nil, `revision "HEAD~5"`},
		{"missing subdir", r.Bare, "main", "nothere", ErrRevisionNotFound, `subdirectory "nothere"`},
		{"subdir is a file", r.Bare, "main", "README.md", nil, `subdirectory "README.md"`},
		{"not a repo", t.TempDir(), "main", "", git.ErrRepositoryNotExists, "open repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadRevision(context.Background(), tt.dir, tt.rev, tt.subdir)
			if err == nil {
				t.Fatal("got no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v; want it to wrap %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.contains) || !strings.HasPrefix(err.Error(), "reconcile: ") {
				t.Errorf("error %q; want it to start with \"reconcile: \" and contain %q", err, tt.contains)
			}
		})
	}
}

func TestReadRevisionSubdir(t *testing.T) {
	r, _, second := revisionRepo(t)
	for _, sub := range []string{"sites", "/sites/", "./sites", "sites/deep/.."} {
		t.Run(sub, func(t *testing.T) {
			rev, err := ReadRevision(context.Background(), r.Bare, "main", sub)
			if err != nil {
				t.Fatal(err)
			}
			if rev.Commit != second {
				t.Errorf("Commit = %s; want %s", rev.Commit, second)
			}
			if want := r.Git("rev-parse", "HEAD:sites"); rev.Tree != want {
				t.Errorf("Tree = %s; want %s (the subdirectory's tree)", rev.Tree, want)
			}
			b, err := fs.ReadFile(rev.FS, "a.cue")
			if err != nil || string(b) != "a: 2\n" {
				t.Errorf("ReadFile(a.cue) = %q, %v; want \"a: 2\\n\"", b, err)
			}
			if _, err := fs.Stat(rev.FS, "sites"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat(sites) error = %v; want ErrNotExist inside the subdirectory", err)
			}
		})
	}
}

func TestTreeFSContents(t *testing.T) {
	r, _, _ := revisionRepo(t)
	rev, err := ReadRevision(context.Background(), r.Bare, "main", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = fs.WalkDir(rev.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		got = append(got, fmt.Sprintf("%s %v %d", p, info.Mode(), info.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		". drwxr-xr-x 0",
		"README.md -rw-r--r-- 7",
		"config drwxr-xr-x 0",
		"config/x.cue -rw-r--r-- 5",
		"sites drwxr-xr-x 0",
		"sites/a.cue -rw-r--r-- 5",
		"sites/a.cue.d drwxr-xr-x 0",
		"sites/a.cue.d/x -rw-r--r-- 19",
		"sites/b.cue -rw-r--r-- 5",
		"sites/deep drwxr-xr-x 0",
		"sites/deep/c.cue -rw-r--r-- 5",
		"sites/deep/d drwxr-xr-x 0",
		"sites/deep/d/e.md -rw-r--r-- 2",
		"sites/dirlink Lrwxrwxrwx 9",
		"sites/empty.cue -rw-r--r-- 0",
		"sites/escape.cue Lrwxrwxrwx 19",
		"sites/link.cue Lrwxrwxrwx 5",
		"sites/script.sh -rwxr-xr-x 10",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("walk:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Sys is the git object hash.
	info, err := fs.Stat(rev.FS, "sites/a.cue")
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := info.Sys().(plumbing.Hash); !ok || h.String() != r.Git("rev-parse", "HEAD:sites/a.cue") {
		t.Errorf("Sys() = %v; want the blob hash %s", info.Sys(), r.Git("rev-parse", "HEAD:sites/a.cue"))
	}
	if !info.ModTime().Equal(rev.Time) {
		t.Errorf("ModTime = %v; want the commit time %v", info.ModTime(), rev.Time)
	}
}

func TestTreeFSSymlinks(t *testing.T) {
	r, _, _ := revisionRepo(t)
	rev, err := ReadRevision(context.Background(), r.Bare, "main", "")
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"sites/link.cue":   "a.cue",
		"sites/escape.cue": "../../../etc/passwd",
		"sites/dirlink":    "../config",
	}
	for name, target := range links {
		got, err := fs.ReadLink(rev.FS, name)
		if err != nil || got != target {
			t.Errorf("ReadLink(%s) = %q, %v; want %q", name, got, err, target)
		}
		for op, f := range map[string]func() error{
			"lstat": func() error {
				info, err := fs.Lstat(rev.FS, name)
				if err == nil && info.Mode()&fs.ModeSymlink == 0 {
					return fmt.Errorf("mode %v; want a symlink", info.Mode())
				}
				return err
			},
			"stat": func() error {
				info, err := fs.Stat(rev.FS, name)
				if err == nil && info.Mode()&fs.ModeSymlink == 0 {
					return fmt.Errorf("mode %v; want a symlink (not followed)", info.Mode())
				}
				return err
			},
		} {
			if err := f(); err != nil {
				t.Errorf("%s(%s): %v", op, name, err)
			}
		}
		_, err = rev.FS.Open(name)
		var pe *fs.PathError
		if !errors.Is(err, ErrSymlink) || !errors.As(err, &pe) || pe.Path != name {
			t.Errorf("Open(%s) error = %v; want a *fs.PathError for %q wrapping ErrSymlink", name, err, name)
		}
	}
	// A path through a link is not followed either.
	if _, err := fs.ReadFile(rev.FS, "sites/dirlink/x.cue"); !errors.Is(err, ErrSymlink) {
		t.Errorf("ReadFile(sites/dirlink/x.cue) error = %v; want ErrSymlink", err)
	}
	if _, err := fs.ReadDir(rev.FS, "sites/dirlink"); !errors.Is(err, ErrSymlink) {
		t.Errorf("ReadDir(sites/dirlink) error = %v; want ErrSymlink", err)
	}
	if _, err := fs.ReadLink(rev.FS, "sites/a.cue"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("ReadLink(regular file) error = %v; want fs.ErrInvalid", err)
	}
}

func TestTreeFSErrorsNamePath(t *testing.T) {
	r, _, _ := revisionRepo(t)
	rev, err := ReadRevision(context.Background(), r.Bare, "main", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		op   func(string) error
		path string
		is   error
	}{
		{"open missing", func(p string) error { _, err := rev.FS.Open(p); return err }, "sites/nope.cue", fs.ErrNotExist},
		{"open below a file", func(p string) error { _, err := rev.FS.Open(p); return err }, "README.md/x", fs.ErrNotExist},
		{"open invalid", func(p string) error { _, err := rev.FS.Open(p); return err }, "../x", fs.ErrInvalid},
		{"open invalid slash", func(p string) error { _, err := rev.FS.Open(p); return err }, "/sites", fs.ErrInvalid},
		{"stat missing", func(p string) error { _, err := rev.FS.(*TreeFS).Stat(p); return err }, "nope", fs.ErrNotExist},
		{"readdir missing", func(p string) error { _, err := rev.FS.(*TreeFS).ReadDir(p); return err }, "nope", fs.ErrNotExist},
		{"readfile missing", func(p string) error { _, err := rev.FS.(*TreeFS).ReadFile(p); return err }, "config/nope", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op(tt.path)
			var pe *fs.PathError
			if !errors.Is(err, tt.is) || !errors.As(err, &pe) || pe.Path != tt.path {
				t.Errorf("error = %v; want a *fs.PathError for %q wrapping %v", err, tt.path, tt.is)
			}
		})
	}
	if _, err := rev.FS.(*TreeFS).ReadFile("sites"); err == nil {
		t.Error("ReadFile(directory) succeeded")
	}
	if _, err := rev.FS.(*TreeFS).ReadDir("README.md"); err == nil {
		t.Error("ReadDir(file) succeeded")
	}
}

// TestTreeFSStandard runs the standard library's file system checks on a tree without
// symbolic links (links are never followed, which fstest would expect of Open).
func TestTreeFSStandard(t *testing.T) {
	r, _, _ := revisionRepo(t)
	rev, err := ReadRevision(context.Background(), r.Bare, "v1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(rev.FS, "README.md", "config/x.cue", "config/x.cue2", "sites/a.cue"); err != nil {
		t.Fatal(err)
	}
	sub, err := fs.Sub(rev.FS, "sites")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(sub, "a.cue"); err != nil {
		t.Fatal(err)
	}
}

func TestTreeFSOpenRead(t *testing.T) {
	r, _, _ := revisionRepo(t)
	rev, err := ReadRevision(context.Background(), r.Bare, "main", "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := rev.FS.Open("sites/deep/c.cue")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil || string(b) != "c: 3\n" {
		t.Errorf("read = %q, %v; want \"c: 3\\n\"", b, err)
	}
	// ReadFile returns a copy: modifying it does not change the revision.
	b, _ = rev.FS.(*TreeFS).ReadFile("sites/a.cue")
	b[0] = 'X'
	if b2, _ := rev.FS.(*TreeFS).ReadFile("sites/a.cue"); string(b2) != "a: 2\n" {
		t.Errorf("after modifying a ReadFile result, ReadFile = %q; want \"a: 2\\n\"", b2)
	}
}

func TestReadRevisionCanceled(t *testing.T) {
	r, _, _ := revisionRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadRevision(ctx, r.Bare, "main", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v; want context.Canceled", err)
	}
}

// bigRepo makes a repo with n site files of about 400 bytes in sites/ (100 per directory).
func bigRepo(tb testing.TB, n int) *testenv.GitRepo {
	tb.Helper()
	r := testenv.NewGitRepo(tb)
	files := make(map[string][]byte, n)
	for i := range n {
		files[fmt.Sprintf("sites/d%03d/site%05d.cue", i/100, i)] = []byte(fmt.Sprintf(
			"site: \"s%05d.example.com\": {\n\tdomains: [\"s%05d.example.com\", \"www.s%05d.example.com\"]\n\tkey: vault: path: \"edge/keys/s%05d\"\n\troutes: [{path: \"/\", upstream: \"http://127.0.0.1:%d\"}]\n\t// %s\n}\n",
			i, i, i, i, 10000+i, strings.Repeat("x", 200)))
	}
	r.Commit("sites", files)
	return r
}

// BenchmarkReadRevision10k reads a 10,000-file revision: from the bare repo (one packfile,
// as after a push or fetch) and from the work tree (loose objects).
func BenchmarkReadRevision10k(b *testing.B) {
	r := bigRepo(b, 10000)
	for _, bc := range []struct{ name, dir string }{{"packed", r.Bare}, {"loose", r.Dir}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				rev, err := ReadRevision(context.Background(), bc.dir, "main", "sites")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := rev.FS.(*TreeFS).Stat("d099/site09999.cue"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fsListing lists every path of fsys with its mode, ModTime and content, for comparisons.
func fsListing(t *testing.T, fsys fs.FS) string {
	t.Helper()
	var b strings.Builder
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %s %v", p, info.Mode(), info.ModTime().UTC().Format("15:04:05"), info.Sys())
		if info.Mode().IsRegular() {
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %q", data)
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestTreeFSSharesUnchangedNodes: a TreeFS built over the previous revision's shares the
// files and directories that did not change, and is otherwise exactly what a fresh read
// gives: changed content, a mode change with the same content, a file that became a
// directory, a removed file, and every ModTime the new commit's time.
func TestTreeFSSharesUnchangedNodes(t *testing.T) {
	r := testenv.NewGitRepo(t)
	first := r.CommitStrings("first", map[string]string{
		"keep/a":       "a\n",
		"keep/sub/b":   "b\n",
		"change/c":     "c1\n",
		"change/gone":  "gone\n",
		"mode.sh":      "#!/bin/sh\n",
		"swap":         "a file\n",
		"change/twin":  "a\n", // same blob as keep/a
		"change/empty": "",
	})
	r.WriteFiles(map[string][]byte{
		"change/c":     []byte("c2\n"),
		"change/gone":  nil,
		"swap":         nil,
		"change/added": []byte("new\n"),
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
	ctx := context.Background()
	commit := func(h string) *object.Commit {
		c, err := repo.CommitObject(plumbing.NewHash(h))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rev1, err := readCommit(ctx, repo.Storer, commit(first), ".", nil)
	if err != nil {
		t.Fatal(err)
	}
	rev2, err := readCommit(ctx, repo.Storer, commit(second), ".", rev1.FS.(*TreeFS))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := readCommit(ctx, repo.Storer, commit(second), ".", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fsListing(t, rev2.FS), fsListing(t, fresh.FS); got != want {
		t.Fatalf("incremental read differs from a fresh read:\n%s\nwant:\n%s", got, want)
	}
	if rev1.Time.Equal(rev2.Time) {
		t.Fatal("test needs distinct commit times")
	}
	fs1, fs2 := rev1.FS.(*TreeFS), rev2.FS.(*TreeFS)
	node := func(f *TreeFS, name string) *treeNode {
		n, err := f.lookup("test", name)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, name := range []string{"keep", "change/twin", "change/empty"} {
		if node(fs1, name) != node(fs2, name) {
			t.Errorf("%s did not change but was read again", name)
		}
	}
	for _, name := range []string{".", "change", "change/c", "mode.sh", "swap"} {
		if node(fs1, name) == node(fs2, name) {
			t.Errorf("%s changed but its old node was kept", name)
		}
	}
	info, err := fs.Stat(rev2.FS, "keep/sub/b")
	if err != nil {
		t.Fatal(err)
	}
	if !info.ModTime().Equal(rev2.Time) {
		t.Errorf("shared file's ModTime = %v; want the new commit's time %v", info.ModTime(), rev2.Time)
	}
}

// A TreeFS tells the schema loader its files' hashes.
var _ schema.HashFS = (*TreeFS)(nil)

func TestTreeFSFileHash(t *testing.T) {
	r := testenv.NewGitRepo(t)
	r.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n", "sites/b.cue": "a: 1\n", "sites/c.cue": "c: 1\n"})
	rev, err := ReadRevision(context.Background(), r.Bare, "", "")
	if err != nil {
		t.Fatal(err)
	}
	fsys := rev.FS.(*TreeFS)
	a, okA := fsys.FileHash("sites/a.cue")
	b, okB := fsys.FileHash("sites/b.cue")
	c, okC := fsys.FileHash("sites/c.cue")
	if !okA || !okB || !okC {
		t.Fatalf("FileHash ok = %v %v %v; want true for every file", okA, okB, okC)
	}
	if want := r.Git("rev-parse", "HEAD:sites/a.cue"); fmt.Sprintf("%x", a) != want {
		t.Errorf("FileHash(a.cue) = %x; want the blob hash %s", a, want)
	}
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("hashes a=%x b=%x c=%x: want a == b (same content) != c", a, b, c)
	}
	for _, name := range []string{"sites", ".", "sites/missing.cue"} {
		if h, ok := fsys.FileHash(name); ok {
			t.Errorf("FileHash(%q) = %x, true; want false", name, h)
		}
	}
}
