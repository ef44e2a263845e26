package gitsource

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
)

// TestContentStore fetches a pinned commit that is no branch's tip from a real git HTTP
// server, reads the pinned directory, fetches nothing for a pin it holds, and refuses a
// commit that is not a full hash without contacting the server.
func TestContentStore(t *testing.T) {
	t.Parallel()
	repo := testenv.NewGitRepo(t)
	repo.GitBare("config", "uploadpack.allowReachableSHA1InWant", "true")
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	old := repo.CommitStrings("v1", map[string]string{"public/index.html": "v1", "private.txt": "not in public"})
	repo.CommitStrings("v2", map[string]string{"public/index.html": "v2"})

	cs := NewContentStore(ContentOptions{Keep: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	fsys, err := cs.Tree(context.Background(), srv.URL, old, "public")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(fsys, "index.html"); err != nil || string(b) != "v1" {
		t.Fatalf("index.html of the pinned commit: %q, %v; want v1", b, err)
	}
	if _, err := fs.Stat(fsys, "../private.txt"); err == nil {
		t.Error("the pinned directory reaches outside itself")
	}
	if _, ok := fsys.(*TreeFS); !ok {
		t.Errorf("Tree returned %T; want a *TreeFS (content hashes for ETags)", fsys)
	}

	n := srv.Count()
	if again, err := cs.Tree(context.Background(), srv.URL, old, "public"); err != nil || again != fsys {
		t.Errorf("second Tree of the same pin: %v, same tree %v", err, again == fsys)
	}
	if srv.Count() != n {
		t.Errorf("a pin held was fetched again (%d requests)", srv.Count()-n)
	}

	if _, err := cs.Tree(context.Background(), srv.URL, "HEAD", ""); err == nil || !strings.Contains(err.Error(), "not a full hash") {
		t.Errorf("commit HEAD: %v; want refused as not a full hash", err)
	}
	missing := strings.Repeat("ab", 20)
	if _, err := cs.Tree(context.Background(), srv.URL, missing, ""); err == nil {
		t.Error("a commit the server does not have was served")
	}
	if _, err := cs.Tree(context.Background(), srv.URL, old, "nope"); !errors.Is(err, ErrRevisionNotFound) {
		t.Errorf("a missing path: %v; want ErrRevisionNotFound", err)
	}
}
