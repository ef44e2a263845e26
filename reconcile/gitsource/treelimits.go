package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ErrTreeTooLarge is returned (wrapped) when a commit's tree is past a bound of what a
// revision may hold: MaxRevisionEntries, MaxTreeDepth or MaxPathLen. The commit is refused
// (Poll returns a *CommitError) and the Source keeps its revision.
var ErrTreeTooLarge = errors.New("reconcile: git tree too large")

const (
	// MaxRevisionEntries bounds the files, links, submodules and directories a revision
	// holds, at any depth (a directory's tree met twice counts twice, as it is held
	// twice): 524,288, about fifty times a config repo of 10,000 sites. Trees that share
	// subtrees can otherwise make a small pack expand to billions of entries.
	MaxRevisionEntries = 1 << 19
	// MaxTreeDepth bounds how deep directories nest in a revision.
	MaxTreeDepth = 256
	// MaxPathLen bounds the length of a path in a revision, in bytes (as PATH_MAX).
	MaxPathLen = 4096
)

// minTreeEntry is the fewest bytes an entry of a tree object takes: a one-digit mode, a
// space, a one-byte name, its NUL and a 20-byte hash.
const minTreeEntry = 24

// treeWalk is the state of reading one revision's trees (fillTree).
type treeWalk struct {
	ctx  context.Context
	s    storer.EncodedObjectStorer
	left int                         // entries the revision may still hold
	dirs map[plumbing.Hash]*treeNode // directories read whole, by tree (remember)
}

// take counts n entries more; false if that is more than the revision may hold.
func (w *treeWalk) take(n int) bool {
	if n > w.left {
		return false
	}
	w.left -= n
	return true
}

// tooMany is the error of the entry at path p passing MaxRevisionEntries.
func tooMany(p string) error {
	return fmt.Errorf("%w: %s: more than %d entries in the revision (MaxRevisionEntries)", ErrTreeTooLarge, clipPath(p), MaxRevisionEntries)
}

// shared returns the directory of tree h read earlier in this walk, if any.
func (w *treeWalk) shared(h plumbing.Hash) *treeNode { return w.dirs[h] }

// remember keeps directory n, read whole, to share its entries with another directory of
// the same tree (see newTreeNode).
func (w *treeWalk) remember(n *treeNode) {
	if w.dirs == nil {
		w.dirs = map[plumbing.Hash]*treeNode{}
	}
	w.dirs[n.hash] = n
}

// room fails before any of its entries is read when the tree whose content is b, at dir,
// holds more entries than the walk has left: a tree of a million entries costs a scan,
// not a million nodes. (Trees of fewer bytes than minTreeEntry times what is left are not
// scanned twice.)
func (w *treeWalk) room(b []byte, dir string) error {
	if len(b)/minTreeEntry <= w.left {
		return nil
	}
	n := 0
	_ = scanTree(b, func(rawTreeEntry) error { n++; return nil })
	if n > w.left {
		return fmt.Errorf("%w: %s: a tree of %d entries, past the %d entries a revision may hold (MaxRevisionEntries)", ErrTreeTooLarge, clipPath(treePath(dir)), n, MaxRevisionEntries)
	}
	return nil
}

// checkEntryName refuses the name of an entry at path p that is not one file name (empty,
// ".", "..", with a "/"), that git itself refuses to check out (".git", in any case), or
// whose path is longer than MaxPathLen. (A NUL cannot be in a name: it ends one.)
func checkEntryName(p, name string) error {
	switch {
	case len(p) > MaxPathLen:
		return fmt.Errorf("%w: %s: a path of %d bytes (MaxPathLen %d)", ErrTreeTooLarge, clipPath(p), len(p), MaxPathLen)
	case name == "" || strings.Contains(name, "/") || !fs.ValidPath(p):
		return fmt.Errorf("%q: invalid file name in tree", clipPath(p))
	case strings.EqualFold(name, ".git"):
		return fmt.Errorf("%q: a .git entry in a tree (git refuses to check one out)", clipPath(p))
	}
	return nil
}

// maxPathInError is how much of a path an error quotes.
const maxPathInError = 256

// clipPath returns p for an error: cut at maxPathInError bytes.
func clipPath(p string) string {
	if len(p) <= maxPathInError {
		return p
	}
	return fmt.Sprintf("%s... (%d bytes)", p[:maxPathInError], len(p))
}
