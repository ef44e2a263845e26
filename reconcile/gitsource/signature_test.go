package gitsource

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/edgectl/edge/tests/testenv"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

func TestSignaturePolicy(t *testing.T) {
	trusted, trustedPub := testenv.NewPGPKey(t, "Trusted Signer")
	other, _ := testenv.NewPGPKey(t, "Other Signer")
	repo := testenv.NewGitRepo(t)
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)

	// The keyring file holds two keys, as `gpg --export --armor a b` writes.
	_, extraPub := testenv.NewPGPKey(t, "Extra Signer")
	ring := filepath.Join(t.TempDir(), "trusted.asc")
	if err := os.WriteFile(ring, append(append(extraPub, '\n'), trustedPub...), 0o644); err != nil {
		t.Fatal(err)
	}
	policy, err := LoadSignaturePolicy(ring)
	if err != nil {
		t.Fatal(err)
	}
	if keys := policy.Keys(); len(keys) != 2 || !strings.Contains(keys[1], "Trusted Signer") {
		t.Fatalf("Keys() = %q; want the two keys of the file", keys)
	}
	src := newSource(t, Options{URL: srv.URL, Ref: "main", Signatures: policy})

	good := repo.CommitSigned(trusted, "signed", map[string][]byte{"a": []byte("1")})
	rev := pollOK(t, src, true, good)
	if !strings.Contains(rev.Signer, "Trusted Signer") {
		t.Errorf("Signer = %q; want the trusted key", rev.Signer)
	}

	check := func(name, commit string, want SignatureReason) {
		t.Helper()
		got, changed, err := src.Poll(context.Background())
		var se *SignatureError
		if !errors.As(err, &se) || se.Reason != want || se.Commit != commit || got != nil || changed {
			t.Fatalf("%s: Poll = %v, %v, %v; want a *SignatureError %q for %s", name, got, changed, err, want, commit)
		}
		if !strings.Contains(err.Error(), commit) || !strings.Contains(err.Error(), string(want)) {
			t.Errorf("%s: error %q; want it to name the commit and the reason", name, err)
		}
		t.Logf("%s: %v", name, err)
	}

	unsigned := repo.CommitSigned(nil, "unsigned", map[string][]byte{"a": []byte("2")})
	check("unsigned", unsigned, SignatureMissing)
	// Still refused on the next poll (nothing was accepted meanwhile), without fetching the
	// refused commit again: one request, the reference listing.
	srv.Reset()
	check("unsigned again", unsigned, SignatureMissing)
	if n := srv.Count(); n != 1 {
		t.Errorf("polling a refused commit again took %d requests; want 1", n)
	}

	unknown := repo.CommitSigned(other, "by another key", map[string][]byte{"a": []byte("3")})
	check("unknown key", unknown, SignatureUnknownKey)

	// A commit altered after signing: same signature, other message.
	r, err := git.PlainOpen(repo.Bare)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := r.CommitObject(plumbing.NewHash(good))
	if err != nil {
		t.Fatal(err)
	}
	forged := *orig
	forged.Message = "forged: not what was signed\n"
	obj := r.Storer.NewEncodedObject()
	if err := forged.Encode(obj); err != nil {
		t.Fatal(err)
	}
	fh, err := r.Storer.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Storer.SetReference(plumbing.NewHashReference("refs/heads/main", fh)); err != nil {
		t.Fatal(err)
	}
	check("altered", fh.String(), SignatureBad)

	// A good signature again is accepted.
	repo.Git("fetch", "--quiet", "origin")
	repo.Git("reset", "--quiet", "--hard", "origin/main")
	good2 := repo.CommitSigned(trusted, "signed again", map[string][]byte{"a": []byte("4")})
	pollOK(t, src, true, good2)
}

func TestNewSignaturePolicyErrors(t *testing.T) {
	for _, in := range []string{"", "not a key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx"} {
		if _, err := NewSignaturePolicy([]byte(in)); err == nil {
			t.Errorf("NewSignaturePolicy(%q) succeeded", in)
		}
	}
	if _, err := LoadSignaturePolicy(filepath.Join(t.TempDir(), "missing.asc")); err == nil {
		t.Error("LoadSignaturePolicy(missing file) succeeded")
	}
}

// TestSignatureFromTheFutureIsJudgedAgain: a signature made by a clock a little ahead of
// the agent's is refused as not yet valid, a verdict that depends on the time: it is not
// remembered, and the commit is accepted once the agent's clock has caught up.
func TestSignatureFromTheFutureIsJudgedAgain(t *testing.T) {
	key, pub := testenv.NewPGPKey(t, "Hasty Signer")
	ring := filepath.Join(t.TempDir(), "ring.asc")
	if err := os.WriteFile(ring, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	policy, err := LoadSignaturePolicy(ring)
	if err != nil {
		t.Fatal(err)
	}
	repo := testenv.NewGitRepo(t)
	repo.CommitSigned(key, "first", map[string][]byte{"a": []byte("1")})
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	src := newSource(t, Options{URL: srv.URL, Ref: "main", Signatures: policy})
	pollOK(t, src, true, repo.Head())

	// A commit on top, signed with a signature time 2s ahead.
	r, err := git.PlainOpen(repo.Bare)
	if err != nil {
		t.Fatal(err)
	}
	head, err := r.CommitObject(plumbing.NewHash(repo.Head()))
	if err != nil {
		t.Fatal(err)
	}
	c := *head
	c.Message, c.ParentHashes, c.PGPSignature = "from the future\n", []plumbing.Hash{head.Hash}, ""
	unsigned := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(unsigned); err != nil {
		t.Fatal(err)
	}
	rd, _ := unsigned.Reader()
	ahead := time.Now().Add(2 * time.Second)
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, key, rd, &packet.Config{Time: func() time.Time { return ahead }}); err != nil {
		t.Fatal(err)
	}
	c.PGPSignature = sig.String()
	obj := r.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		t.Fatal(err)
	}
	future, err := r.Storer.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Storer.SetReference(plumbing.NewHashReference("refs/heads/main", future)); err != nil {
		t.Fatal(err)
	}

	_, _, err = src.Poll(context.Background())
	var se *SignatureError
	if !errors.As(err, &se) || se.Reason != SignatureExpired {
		t.Fatalf("Poll of a signature 2s ahead = %v; want a refusal as not yet valid", err)
	}
	time.Sleep(time.Until(ahead) + 100*time.Millisecond)
	pollOK(t, src, true, future.String())
}

// TestDescribeEntityIsStable: a key with several user IDs is always named by its primary
// one (a map's order must not leak into /status).
func TestDescribeEntityIsStable(t *testing.T) {
	e, _ := testenv.NewPGPKey(t, "Primary Person")
	if err := e.AddUserId("Other Person", "", "other@edge.invalid", nil); err != nil {
		t.Fatal(err)
	}
	want := describeEntity(e)
	if !strings.Contains(want, "Primary Person") {
		t.Fatalf("describeEntity = %q; want the primary user ID", want)
	}
	for range 50 {
		if got := describeEntity(e); got != want {
			t.Fatalf("describeEntity = %q, then %q", want, got)
		}
	}
}
