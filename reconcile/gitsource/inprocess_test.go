package gitsource

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestDemoRepoInProcess polls a demo repo with the agent's git source while git is not on
// PATH: the in-process transport must serve it, including the follow-up (shallow) fetch.
func TestDemoRepoInProcess(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dir := filepath.Join(t.TempDir(), "config")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("one")
	repo, err := InitDemoRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	first, err := repo.CommitAll("first")
	if err != nil {
		t.Fatal(err)
	}
	defer ServeInProcess(dir)()
	src, err := New(Options{URL: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, want := range []struct{ body string }{{"one"}, {"two"}, {"three"}} {
		if i > 0 {
			write(want.body)
			if _, err := repo.CommitAll(want.body); err != nil {
				t.Fatal(err)
			}
		}
		rev, changed, err := src.Poll(ctx)
		if err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		if !changed {
			t.Errorf("poll %d: changed = false; want true", i)
		}
		if i == 0 && rev.Commit != first {
			t.Errorf("commit = %s; want %s", rev.Commit, first)
		}
		if got, _ := fs.ReadFile(rev.FS, "a.txt"); string(got) != want.body {
			t.Errorf("poll %d: a.txt = %q; want %q", i, got, want.body)
		}
	}
	if _, changed, err := src.Poll(ctx); err != nil || changed {
		t.Errorf("unchanged poll: changed=%v err=%v; want false, nil", changed, err)
	}
}
