package testenv

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
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
// The commit object is written with the git CLI's plumbing (write-tree, hash-object,
// update-ref) and signed here, so no gpg agent is needed; its author, committer and date
// are GitRepo's usual ones, and its message is msg as given (no newline added).
func (r *GitRepo) CommitSigned(key *openpgp.Entity, msg string, files map[string][]byte) string {
	r.t.Helper()
	r.WriteFiles(files)
	r.tick()
	r.mu.Lock()
	when := GitEpoch.Add(time.Duration(r.clock) * time.Second)
	r.mu.Unlock()
	r.Git("add", "--all")
	var hdr strings.Builder
	fmt.Fprintf(&hdr, "tree %s\n", r.Git("write-tree"))
	if parent := r.Git("for-each-ref", "--format=%(objectname)", "refs/heads/"+r.Branch); parent != "" {
		fmt.Fprintf(&hdr, "parent %s\n", parent)
	}
	ident := fmt.Sprintf("Edge Test <test@edge.invalid> %d %s", when.Unix(), when.Format("-0700"))
	fmt.Fprintf(&hdr, "author %s\ncommitter %s\n", ident, ident)
	object := hdr.String() + "\n" + msg
	if key != nil {
		var sig bytes.Buffer
		if err := openpgp.ArmoredDetachSign(&sig, key, strings.NewReader(object), nil); err != nil {
			r.t.Fatalf("testenv: sign commit: %v", err)
		}
		lines := strings.Split(strings.TrimSuffix(sig.String(), "\n"), "\n")
		object = hdr.String() + "gpgsig " + strings.Join(lines, "\n ") + "\n\n" + msg
	}
	h := r.gitStdin(object, "hash-object", "-t", "commit", "-w", "--stdin")
	r.Git("update-ref", "refs/heads/"+r.Branch, h)
	r.Push()
	return h
}
