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
// (the source holds its objects until the next Poll). It appends to the file what rev adds
// to it when it can (see state_append.go), else rewrites the file.
func (s *Source) SaveAccepted(rev *Revision) error {
	if s.opts.StateDir == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if s.saved == rev.Commit {
		s.mu.Unlock()
		return nil
	}
	if s.last == nil || s.last.Commit != rev.Commit {
		s.mu.Unlock()
		return fmt.Errorf("reconcile: state dir %s: commit %s is not the source's current revision", s.opts.StateDir, rev.Commit)
	}
	// The store holds exactly the last revision (see compact): take the objects to write,
	// which never change, and write them without holding the lock.
	plan := planSave(s.store, s.held)
	h := stateHeader{Source: s.name, Ref: s.refName.String(), Hash: s.lastHash.String(), Commit: rev.Commit, SavedAt: time.Now().UTC()}
	s.mu.Unlock()

	start := time.Now()
	held, err := s.writeState(plan, h)
	if err != nil {
		return fmt.Errorf("reconcile: state dir %s: save commit %s: %w", s.opts.StateDir, rev.Commit, err)
	}
	s.held = held
	s.mu.Lock()
	s.saved = rev.Commit
	s.mu.Unlock()
	s.log.Info("accepted revision saved to the state dir", "dir", s.opts.StateDir, "commit", rev.Commit,
		"appended", !plan.rewrite, "objects", len(plan.hashes), "bytes", held.size, "took", time.Since(start).Round(time.Microsecond))
	return nil
}

// writeState appends plan's objects to the state file, or rewrites it with them; an append
// that fails is followed by a rewrite. Called with saveMu held.
func (s *Source) writeState(plan statePlan, h stateHeader) (stateFile, error) {
	if !plan.rewrite {
		held, err := appendStateSegment(s.opts.StateDir, s.held, h, plan.objs, plan.hashes)
		if err == nil {
			return held, nil
		}
		s.log.Warn("state dir: append failed; rewriting the state file", "dir", s.opts.StateDir, "err", err)
		s.held = stateFile{}
		s.mu.Lock()
		moved := s.last == nil || s.last.Commit != h.Commit
		if !moved {
			plan = planSave(s.store, s.held)
		}
		s.mu.Unlock()
		if moved {
			return stateFile{}, errors.New("the source polled another revision meanwhile")
		}
	}
	s.held = stateFile{} // unknown until the rewrite is done
	return writeStateFile(s.opts.StateDir, h, plan.objs, plan.hashes)
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
	h, store, held, err := readStateFileHeld(s.opts.StateDir)
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
	s.saveMu.Lock()
	s.held = held
	s.saveMu.Unlock()
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
