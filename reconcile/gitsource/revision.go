package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Revision is one commit of the config repo, with the files of its tree (or of a
// subdirectory of it): what a Source yields and ReadRevision reads. A Revision never changes after it is returned: FS holds the files in
// memory and is safe for concurrent use.
type Revision struct {
	// Commit is the full hex hash of the commit.
	Commit string
	// Tree is the hex hash of the tree FS shows (the subdirectory's tree when one was
	// asked for). Two revisions with equal Tree have identical files.
	Tree string
	// Time is the committer time of the commit.
	Time time.Time
	// Message is the full commit message.
	Message string
	// Signer describes the key that signed the commit ("FINGERPRINT Name <email>") when a
	// Source with a SignaturePolicy verified it; empty otherwise.
	Signer string
	// FS is the commit's tree, rooted at the requested subdirectory. ReadRevision and
	// Source set a *TreeFS: it implements fs.ReadDirFS, fs.ReadFileFS, fs.StatFS,
	// fs.ReadLinkFS and schema.HashFS; symbolic links are reported as such (fs.ModeSymlink)
	// and never followed. (Tests may set any fs.FS, e.g. an fstest.MapFS.)
	FS fs.FS
}

// ErrRevisionNotFound is returned (wrapped) when a revspec names no commit, or a commit
// lacks the subdirectory asked for.
var ErrRevisionNotFound = errors.New("reconcile: revision not found")

// ReadRevision opens the local repository at repoDir (bare or not; a directory inside a work
// tree also works) and reads the commit revspec names: a branch, a tag, a (short) hash, or an
// expression such as "HEAD~1". An empty revspec means HEAD. subdir, when not empty or ".",
// roots the revision's FS at that directory of the tree. Nothing is checked out: files are
// read from the object database.
func ReadRevision(ctx context.Context, repoDir, revspec, subdir string) (*Revision, error) {
	if revspec == "" {
		revspec = "HEAD"
	}
	// A bare repository or a work tree's top; else a directory inside a work tree.
	repo, err := git.PlainOpenWithOptions(repoDir, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainOpenWithOptions(repoDir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	}
	if err != nil {
		return nil, fmt.Errorf("reconcile: open repository %s: %w", repoDir, err)
	}
	if st, ok := repo.Storer.(*filesystem.Storage); ok {
		// Keep packfiles open while reading: go-git otherwise opens the pack once per object.
		fast := filesystem.NewStorageWithOptions(st.Filesystem(), cache.NewObjectLRUDefault(),
			filesystem.Options{KeepDescriptors: true, ExclusiveAccess: true})
		defer fast.Close()
		if repo, err = git.Open(fast, nil); err != nil {
			return nil, fmt.Errorf("reconcile: open repository %s: %w", repoDir, err)
		}
	}
	h, err := repo.ResolveRevision(plumbing.Revision(revspec))
	if err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) || errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, fmt.Errorf("reconcile: repository %s: revision %q: %w", repoDir, revspec, ErrRevisionNotFound)
		}
		return nil, fmt.Errorf("reconcile: repository %s: revision %q: %w", repoDir, revspec, err)
	}
	dir, err := cleanSubdir(subdir)
	if err != nil {
		return nil, fmt.Errorf("reconcile: repository %s: %w", repoDir, err)
	}
	c, _, err := peelToCommit(repo.Storer, *h)
	if err != nil {
		return nil, fmt.Errorf("reconcile: repository %s: revision %q: %w", repoDir, revspec, err)
	}
	r, err := readCommit(ctx, repo.Storer, c, dir, nil)
	if err != nil {
		return nil, fmt.Errorf("reconcile: repository %s: revision %q: %w", repoDir, revspec, err)
	}
	return r, nil
}

// readCommit reads commit c's tree below dir (cleaned: see cleanSubdir), sharing the
// unchanged files of prev (an earlier revision's FS at the same dir; may be nil).
func readCommit(ctx context.Context, s storer.EncodedObjectStorer, c *object.Commit, dir string, prev *TreeFS) (*Revision, error) {
	tree := c.TreeHash
	if dir != "." {
		var err error
		if tree, err = subtree(s, tree, dir); err != nil {
			if errors.Is(err, object.ErrDirectoryNotFound) {
				return nil, fmt.Errorf("commit %s: subdirectory %q: %w", c.Hash, dir, ErrRevisionNotFound)
			}
			return nil, fmt.Errorf("commit %s: subdirectory %q: %w", c.Hash, dir, err)
		}
	}
	fsys, err := newTreeFS(ctx, s, tree, c.Committer.When, prev)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", c.Hash, err)
	}
	return &Revision{
		Commit:  c.Hash.String(),
		Tree:    tree.String(),
		Time:    c.Committer.When,
		Message: c.Message,
		FS:      fsys,
	}, nil
}

// peelToCommit returns the commit h names, following annotated tags, and the tags it went
// through (none when h is a commit).
func peelToCommit(s storer.EncodedObjectStorer, h plumbing.Hash) (*object.Commit, []plumbing.Hash, error) {
	var tags []plumbing.Hash
	for range 8 {
		o, err := s.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return nil, nil, fmt.Errorf("object %s: %w", h, err)
		}
		switch o.Type() {
		case plumbing.CommitObject:
			c, err := object.DecodeCommit(s, o)
			return c, tags, err
		case plumbing.TagObject:
			t, err := object.DecodeTag(s, o)
			if err != nil {
				return nil, nil, fmt.Errorf("tag %s: %w", h, err)
			}
			tags = append(tags, h)
			h = t.Target
		default:
			return nil, nil, fmt.Errorf("object %s is a %s, not a commit", h, o.Type())
		}
	}
	return nil, nil, fmt.Errorf("object %s: too many nested tags", h)
}

// cleanSubdir turns a user's subdirectory ("", ".", "sites/", "/config") into a valid
// fs path, or "." for the root.
func cleanSubdir(subdir string) (string, error) {
	d := strings.Trim(path.Clean("/"+strings.TrimSpace(subdir)), "/")
	if d == "" {
		return ".", nil
	}
	if strings.Contains(subdir, "\\") {
		return "", fmt.Errorf("subdirectory %q: use forward slashes", subdir)
	}
	return d, nil
}

// subtree returns the hash of the tree at dir (a cleaned path, not ".") below tree root,
// reading each tree on the way in place (scanTree) rather than decoding it whole: a hostile
// root of a million entries costs a scan. It fails wrapping object.ErrDirectoryNotFound
// where go-git's Tree.Tree does: an element missing, not a directory, or whose tree is not
// in s.
func subtree(s storer.EncodedObjectStorer, root plumbing.Hash, dir string) (plumbing.Hash, error) {
	h := root
	for elem := range strings.SplitSeq(dir, "/") {
		b, err := treeContent(s, h)
		if err != nil {
			if errors.Is(err, plumbing.ErrObjectNotFound) && h != root {
				return plumbing.ZeroHash, object.ErrDirectoryNotFound
			}
			return plumbing.ZeroHash, fmt.Errorf("tree %s: %w", h, err)
		}
		found := false
		err = scanTree(b, func(e rawTreeEntry) error {
			if e.mode == filemode.Dir && compareName(e.name, elem) == 0 {
				h, found = e.hash, true
				return errFound
			}
			return nil
		})
		if err != nil && !found {
			return plumbing.ZeroHash, fmt.Errorf("tree %s: %w", h, err)
		}
		if !found {
			return plumbing.ZeroHash, object.ErrDirectoryNotFound
		}
	}
	if _, err := treeContent(s, h); err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return plumbing.ZeroHash, object.ErrDirectoryNotFound
		}
		return plumbing.ZeroHash, err
	}
	return h, nil
}

// errFound stops a scanTree once the entry looked for is found.
var errFound = errors.New("found")
