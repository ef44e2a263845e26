package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// SaveAccepted writes rev, the revision the agent now serves, to the state directory, so
// that RestoreAccepted can serve it after a restart. It does nothing without a StateDir or
// when rev is the revision already saved. rev must be the revision the last Poll returned
// (the source holds its objects until the next Poll).
func (s *Source) SaveAccepted(rev *Revision) error {
	if s.opts.StateDir == "" {
		return nil
	}
	s.mu.Lock()
	if s.saved == rev.Commit {
		s.mu.Unlock()
		return nil
	}
	if s.last == nil || s.last.Commit != rev.Commit {
		s.mu.Unlock()
		return fmt.Errorf("reconcile: state dir %s: commit %s is not the source's current revision", s.opts.StateDir, rev.Commit)
	}
	// The store holds exactly the last revision (see compact): take its objects, which
	// never change, and write them without holding the lock.
	objs, hashes := s.store.clone()
	h := stateHeader{Source: s.name, Ref: s.refName.String(), Hash: s.lastHash.String(), Commit: rev.Commit, SavedAt: time.Now().UTC()}
	s.mu.Unlock()

	start := time.Now()
	size, err := writeStateFile(s.opts.StateDir, h, objs, hashes)
	if err != nil {
		return fmt.Errorf("reconcile: state dir %s: save commit %s: %w", s.opts.StateDir, rev.Commit, err)
	}
	s.mu.Lock()
	s.saved = rev.Commit
	s.mu.Unlock()
	s.log.Info("accepted revision saved to the state dir", "dir", s.opts.StateDir, "commit", rev.Commit,
		"objects", len(hashes), "bytes", size, "took", time.Since(start).Round(time.Microsecond))
	return nil
}

// RestoreAccepted reads the revision SaveAccepted last wrote and makes it the source's
// current revision, as if the last Poll had returned it: the next Poll reports a change
// only if the remote moved since, and fetches just what changed. It returns nil, nil
// when there is no StateDir or nothing saved yet, and an error (the source unchanged) when
// the file cannot be used: unreadable or damaged, saved for another repo, ref or subdir,
// or refused by the signature policy. Call it before the first Poll.
func (s *Source) RestoreAccepted(ctx context.Context) (*Revision, error) {
	if s.opts.StateDir == "" {
		return nil, nil
	}
	removeStateTemps(s.opts.StateDir)
	h, store, err := readStateFile(s.opts.StateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reconcile: state dir %s: %w", s.opts.StateDir, err)
	}
	rev, err := s.restoreFrom(ctx, h, store)
	if err != nil {
		return nil, fmt.Errorf("reconcile: state dir %s: commit %s: %w", s.opts.StateDir, h.Commit, err)
	}
	return rev, nil
}

// restoreFrom checks the state read from the state dir and makes it the current revision.
func (s *Source) restoreFrom(ctx context.Context, h stateHeader, store *objectStore) (*Revision, error) {
	if h.Source != s.name {
		return nil, fmt.Errorf("saved for %s; this source is %s", h.Source, s.name)
	}
	hash, ref := plumbing.NewHash(h.Hash), plumbing.ReferenceName(h.Ref)
	if hash.IsZero() || ref.Validate() != nil {
		return nil, fmt.Errorf("invalid reference %q %q", h.Ref, h.Hash)
	}
	c, tags, err := peelToCommit(store, hash)
	if err != nil {
		return nil, err
	}
	if c.Hash.String() != h.Commit {
		return nil, fmt.Errorf("%s names commit %s", h.Hash, c.Hash)
	}
	var signer string
	if s.opts.Signatures != nil {
		// Checked again: the policy may have changed, and the file is not trusted more
		// than the repo.
		if signer, err = s.opts.Signatures.verify(c); err != nil {
			return nil, err
		}
	}
	rev, err := readCommit(ctx, store, c, s.dir, nil)
	if err != nil {
		return nil, err
	}
	rev.Signer = signer

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil {
		return nil, errors.New("the source has polled already")
	}
	s.store = store
	tfs, _ := rev.FS.(*TreeFS)
	if err := s.compact(tags, c, tfs); err != nil {
		s.store = newObjectStore()
		return nil, err
	}
	s.last, s.lastHash, s.refName, s.saved = rev, hash, ref, rev.Commit
	return rev, nil
}
