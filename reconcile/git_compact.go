package reconcile

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// compact replaces the source's storage with one holding only what the fetched reference
// (hash: a commit, or an annotated tag) needs: the tag, the commit and its whole tree,
// marked shallow. Objects of older revisions are dropped, so memory stays about one
// revision of the repo however long the source runs; the next fetch still sends the commit
// as "have", so the server sends only what changed.
func (s *GitSource) compact(hash plumbing.Hash) error {
	ns := memory.NewStorage()
	copyObj := func(h plumbing.Hash) (plumbing.EncodedObject, error) {
		o, err := s.store.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return nil, fmt.Errorf("compact: object %s: %w", h, err)
		}
		if _, err := ns.SetEncodedObject(o); err != nil {
			return nil, fmt.Errorf("compact: object %s: %w", h, err)
		}
		return o, nil
	}
	h := hash
	var commit *object.Commit
	for commit == nil {
		o, err := copyObj(h)
		if err != nil {
			return err
		}
		switch o.Type() {
		case plumbing.TagObject:
			t, err := object.DecodeTag(s.store, o)
			if err != nil {
				return fmt.Errorf("compact: tag %s: %w", h, err)
			}
			h = t.Target
		case plumbing.CommitObject:
			if commit, err = object.DecodeCommit(s.store, o); err != nil {
				return fmt.Errorf("compact: commit %s: %w", h, err)
			}
		default:
			return fmt.Errorf("compact: object %s is a %s", h, o.Type())
		}
	}
	var walk func(plumbing.Hash) error
	walk = func(th plumbing.Hash) error {
		o, err := copyObj(th)
		if err != nil {
			return err
		}
		t, err := object.DecodeTree(s.store, o)
		if err != nil {
			return fmt.Errorf("compact: tree %s: %w", th, err)
		}
		for _, e := range t.Entries {
			switch e.Mode {
			case filemode.Dir:
				if err := walk(e.Hash); err != nil {
					return err
				}
			case filemode.Submodule:
			default:
				if _, err := copyObj(e.Hash); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(commit.TreeHash); err != nil {
		return err
	}
	if err := ns.SetShallow([]plumbing.Hash{commit.Hash}); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if err := ns.SetReference(plumbing.NewHashReference(fetchedRef, hash)); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	s.store = ns
	return nil
}
