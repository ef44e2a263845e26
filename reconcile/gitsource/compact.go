package gitsource

import (
	"fmt"
	"io/fs"
	"path"

	"github.com/edgectl/edge/edge/pace"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// compact drops from the source's store every object the fetched revision does not need,
// keeping its annotated tags (if the reference names one), the commit and its whole tree,
// marked shallow. Objects of older revisions go, so memory stays about one revision of the
// repo however long the source runs; the next fetch still sends the commit as "have", so the
// server sends only what changed, as deltas against objects kept here.
//
// It marks what the new revision reaches and sweeps the rest in place, so its cost is a walk
// of the trees, not a copy of the repo. Below the subdir the walk follows tfs, the
// revision's files already read (which hold every entry's hash), instead of decoding the git
// trees a second time.
func (s *Source) compact(tags []plumbing.Hash, commit *object.Commit, tfs *TreeFS) error {
	live, err := s.reachable(tags, commit, tfs)
	if err != nil {
		return err
	}
	s.store.keepOnly(live)
	if err := s.store.SetShallow([]plumbing.Hash{commit.Hash}); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	return nil
}

// reachable returns the hashes of the objects the revision needs: tags, the commit, and
// every tree and blob of its tree (not submodules' commits). The set is the source's, valid
// until the next call (s.mu held): at 10,000 sites a new one was 0.9 MB of garbage per swap.
func (s *Source) reachable(tags []plumbing.Hash, commit *object.Commit, tfs *TreeFS) (map[plumbing.Hash]struct{}, error) {
	live := s.live
	if live == nil {
		live = make(map[plumbing.Hash]struct{}, s.store.len())
		s.live = live
	}
	clear(live)
	for _, t := range tags {
		live[t] = struct{}{}
	}
	live[commit.Hash] = struct{}{}
	var tick pace.Ticker
	var markNode func(*treeNode)
	markNode = func(n *treeNode) {
		tick.Tick()
		if _, seen := live[n.hash]; seen && n.mode.IsDir() {
			return // a subtree met twice (two directories with the same content)
		}
		if n.mode&fs.ModeIrregular == 0 { // not a submodule's commit
			live[n.hash] = struct{}{}
		}
		for _, c := range n.children {
			markNode(c)
		}
	}
	// Trees above and beside the subdir are read in place (scanTree), not decoded: they
	// were not read by newTreeFS, and are as hostile as the rest.
	var mark func(th plumbing.Hash, dir string, depth int) error
	mark = func(th plumbing.Hash, dir string, depth int) error {
		if tfs != nil && dir == s.dir && tfs.root.hash == th {
			markNode(tfs.root)
			return nil
		}
		if _, seen := live[th]; seen {
			return nil
		}
		if depth > MaxTreeDepth {
			return fmt.Errorf("compact: %w: %s: directories nested more than %d deep (MaxTreeDepth)", ErrTreeTooLarge, clipPath(dir), MaxTreeDepth)
		}
		live[th] = struct{}{}
		b, err := treeContent(s.store, th)
		if err != nil {
			return fmt.Errorf("compact: tree %s: %w", th, err)
		}
		var childErr error // a subtree's, already saying where
		err = scanTree(b, func(e rawTreeEntry) error {
			tick.Tick()
			switch e.mode {
			case filemode.Dir:
				sub := dir // only compared with s.dir: past its length, any other path will do
				if len(dir) <= len(s.dir) {
					sub = path.Join(dir, string(e.name))
				}
				childErr = mark(e.hash, sub, depth+1)
				return childErr
			case filemode.Submodule:
			default:
				live[e.hash] = struct{}{}
			}
			return nil
		})
		switch {
		case childErr != nil:
			return childErr
		case err != nil:
			return fmt.Errorf("compact: tree %s: %w", th, err)
		}
		return nil
	}
	if err := mark(commit.TreeHash, ".", 0); err != nil {
		return nil, err
	}
	return live, nil
}
