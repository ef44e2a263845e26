package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
	"github.com/go-git/go-git/v5/plumbing"
)

// writeTrees writes tree objects (their content, in order: one may name those before it)
// into repo's bare repository with real git (hash-object --literally, which checks
// nothing), and returns the hash of the last.
func writeTrees(t *testing.T, repo *testenv.GitRepo, trees [][]byte) plumbing.Hash {
	t.Helper()
	dir := t.TempDir()
	var paths strings.Builder
	for i, b := range trees {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths.WriteString(p + "\n")
	}
	cmd := exec.Command("git", "hash-object", "-t", "tree", "--literally", "-w", "--stdin-paths")
	cmd.Dir, cmd.Env, cmd.Stdin = repo.Bare, repo.Env(), strings.NewReader(paths.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git hash-object: %v\n%s", err, out)
	}
	lines := strings.Fields(string(out))
	last := plumbing.ComputeHash(plumbing.TreeObject, trees[len(trees)-1])
	if len(lines) != len(trees) || lines[len(lines)-1] != last.String() {
		t.Fatalf("git hash-object wrote %d objects, the last %s; want %d, %s", len(lines), lines[len(lines)-1], len(trees), last)
	}
	return last
}

// pointMain commits tree in repo's bare repository with real git and points main at it.
func pointMain(t *testing.T, repo *testenv.GitRepo, tree plumbing.Hash) string {
	t.Helper()
	c := repo.GitBare("commit-tree", tree.String(), "-m", "hostile")
	repo.GitBare("update-ref", "refs/heads/main", c)
	return c
}

// TestGitSourceRefusesHostileTree: a commit whose tree git itself would refuse to check
// out, written with real git and served by git http-backend or read from a local path,
// fails the poll with a *CommitError naming the path (a tree past a bound wrapping
// ErrTreeTooLarge), not fetched again on the next poll; the Source keeps its revision and
// moves on to the next honest commit. A symbolic link or a submodule where a site file is
// expected is a revision whose file cannot be read, naming it.
func TestGitSourceRefusesHostileTree(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n"})
	blob := plumbing.NewHash(repo.GitBare("rev-parse", "main:sites/a.cue"))
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	sitesOf := func(entries ...[]byte) [][]byte {
		var b []byte
		for _, e := range entries {
			b = append(b, e...)
		}
		return [][]byte{b, treeEntry("40000", "sites", plumbing.ComputeHash(plumbing.TreeObject, b))}
	}
	deep := [][]byte{treeEntry("100644", "a.cue", blob)}
	for range 1000 {
		deep = append(deep, treeEntry("40000", "d", plumbing.ComputeHash(plumbing.TreeObject, deep[len(deep)-1])))
	}
	var bombTrees [][]byte
	var level []byte
	for i := range 16 {
		level = append(level, treeEntry("100644", fmt.Sprintf("f%02d", i), blob)...)
	}
	bombTrees = append(bombTrees, level)
	for range 8 {
		h := plumbing.ComputeHash(plumbing.TreeObject, bombTrees[len(bombTrees)-1])
		level = nil
		for i := range 16 {
			level = append(level, treeEntry("40000", fmt.Sprintf("d%02d", i), h)...)
		}
		bombTrees = append(bombTrees, level)
	}
	dotGit := treeEntry("100644", "config", blob)
	refused := []struct {
		name  string
		trees [][]byte
		is    error
		say   string
	}{
		{"dot-dot", sitesOf(treeEntry("100644", "..", blob)), nil, `"sites/..": invalid file name`},
		{".git", append([][]byte{dotGit}, sitesOf(treeEntry("100644", "a.cue", blob), treeEntry("40000", ".git", plumbing.ComputeHash(plumbing.TreeObject, dotGit)))...),
			nil, `"sites/.git": a .git entry`},
		{"slash", sitesOf(treeEntry("100644", "../../etc/passwd", blob)), nil, `"sites/../../etc/passwd": invalid file name`},
		{"long name", sitesOf(treeEntry("100644", strings.Repeat("n", 5000), blob)), ErrTreeTooLarge, "(MaxPathLen 4096)"},
		{"1000 deep", deep, ErrTreeTooLarge, "directories nested more than 256 deep (MaxTreeDepth)"},
		{"16^8 entries", bombTrees, ErrTreeTooLarge, "(MaxRevisionEntries)"},
	}
	// The first poll of each source fetches c1; each hostile commit is then refused.
	sources := map[string]*Source{"http": newSource(t, Options{URL: srv.URL, Ref: "main"}), "local": newSource(t, Options{URL: repo.Bare, Ref: "main"})}
	revs := map[string]*Revision{}
	for name, src := range sources {
		revs[name] = pollOK(t, src, true, c1)
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			hostile := pointMain(t, repo, writeTrees(t, repo, tc.trees))
			for name, src := range sources {
				var err error
				alloc := allocatedBy(func() { _, _, err = src.Poll(context.Background()) })
				var ce *CommitError
				switch {
				case !errors.As(err, &ce) || ce.Commit != hostile:
					t.Errorf("%s: Poll: %v; want a *CommitError for %s", name, err, hostile)
				case tc.is != nil && !errors.Is(err, tc.is):
					t.Errorf("%s: Poll: %v; want %v", name, err, tc.is)
				case !strings.Contains(err.Error(), tc.say):
					t.Errorf("%s: Poll: %v; want it to say %q", name, err, tc.say)
				}
				if !raceEnabled && alloc > 32<<20 {
					t.Errorf("%s: the poll allocated %d MiB", name, alloc>>20)
				}
				t.Logf("%s: %.240s (%d KiB)", name, err, alloc>>10)
				if _, _, again := src.Poll(context.Background()); again == nil || again.Error() != err.Error() {
					t.Errorf("%s: the next poll: %v; want the same error", name, again)
				}
				if src.last.Commit != c1 || readString(t, revs[name].FS, "sites/a.cue") != "a: 1\n" {
					t.Errorf("%s: the revision held changed", name)
				}
			}
		})
	}

	// A link and a submodule where a site file is expected: a revision, whose file cannot
	// be read.
	sub := plumbing.NewHash(c1)
	odd := pointMain(t, repo, writeTrees(t, repo, sitesOf(treeEntry("120000", "a.cue", blob), treeEntry("160000", "b.cue", sub))))
	for name, src := range sources {
		rev := pollOK(t, src, true, odd)
		for file, want := range map[string]string{"sites/a.cue": "symbolic link not followed", "sites/b.cue": "git submodule"} {
			_, err := fs.ReadFile(rev.FS, file)
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != file || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: ReadFile(%s): %v; want an error naming it saying %q", name, file, err, want)
			}
		}
	}

	repo.GitBare("update-ref", "refs/heads/main", c1)
	c2 := repo.CommitStrings("two", map[string]string{"sites/a.cue": "a: 2\n"})
	for name, src := range sources {
		if rev := pollOK(t, src, true, c2); readString(t, rev.FS, "sites/a.cue") != "a: 2\n" {
			t.Errorf("%s: a.cue after", name)
		}
	}
}
