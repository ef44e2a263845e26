package testenv

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// NewPGPKey generates a real OpenPGP key for name and returns it with its armored public
// key, as `gpg --export --armor` writes it (the content of a trusted keyring file).
func NewPGPKey(t testing.TB, name string) (*openpgp.Entity, []byte) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", strings.ToLower(strings.ReplaceAll(name, " ", "."))+"@edge.invalid", nil)
	if err != nil {
		t.Fatalf("testenv: new OpenPGP key: %v", err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return e, buf.Bytes()
}

// CommitSigned writes files (see WriteFiles), stages everything and commits with msg,
// signed by key (unsigned when key is nil), then pushes and returns the commit's hash.
// The commit is made with go-git, which signs without a gpg agent; its author, committer
// and date are GitRepo's usual ones.
func (r *GitRepo) CommitSigned(key *openpgp.Entity, msg string, files map[string][]byte) string {
	r.t.Helper()
	r.WriteFiles(files)
	r.tick()
	r.mu.Lock()
	when := GitEpoch.Add(time.Duration(r.clock) * time.Second)
	r.mu.Unlock()
	repo, err := git.PlainOpen(r.Dir)
	if err != nil {
		r.t.Fatalf("testenv: %v", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		r.t.Fatalf("testenv: %v", err)
	}
	if err := wt.AddGlob("."); err != nil {
		r.t.Fatalf("testenv: git add: %v", err)
	}
	sig := &object.Signature{Name: "Edge Test", Email: "test@edge.invalid", When: when}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, SignKey: key, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatalf("testenv: commit: %v", err)
	}
	r.Push()
	return h.String()
}
