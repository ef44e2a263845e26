package gitsource

import (
	"bytes"
	"context"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
	"github.com/go-git/go-git/v5/plumbing"
)

func TestMemObjectHashAsGit(t *testing.T) {
	for _, content := range []string{"", "a\n", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"} {
		var o memObject
		o.SetType(plumbing.BlobObject)
		o.SetSize(int64(len(content)))
		w, _ := o.Writer()
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		want := plumbing.ComputeHash(plumbing.BlobObject, []byte(content))
		if o.Hash() != want || o.Size() != int64(len(content)) || cap(o.cont) != len(content) {
			t.Errorf("%q: hash %s size %d cap %d, want %s %d %d", content, o.Hash(), o.Size(), cap(o.cont), want, len(content), len(content))
		}
	}
}

// TestTreeFSReadFileShared: a revision polled by a Source gives a file's content without a
// copy (the same memory every time), and ReadFile still gives a copy of its own.
func TestTreeFSReadFileShared(t *testing.T) {
	r := testenv.NewGitRepo(t)
	r.CommitStrings("first", map[string]string{"certs/a.pem": "pem\n", "empty": ""})
	src := newSource(t, Options{URL: r.Bare})
	rev, _, err := src.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tfs := rev.FS.(*TreeFS)
	a, err := tfs.ReadFileShared("certs/a.pem")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tfs.ReadFileShared("certs/a.pem")
	c, _ := tfs.ReadFile("certs/a.pem")
	if string(a) != "pem\n" || string(c) != "pem\n" {
		t.Fatalf("content %q, %q", a, c)
	}
	if &a[0] != &b[0] {
		t.Error("ReadFileShared copied the content")
	}
	if &a[0] == &c[0] {
		t.Error("ReadFile returned the shared content")
	}
	if cap(a) != len(a) {
		t.Errorf("shared content has room to append into: cap %d len %d", cap(a), len(a))
	}
	if e, err := tfs.ReadFileShared("empty"); err != nil || e == nil || len(e) != 0 {
		t.Errorf("empty file: %q, %v", e, err)
	}
	if _, err := tfs.ReadFileShared("certs"); err == nil {
		t.Error("a directory read")
	}
	if !bytes.Equal(a, c) {
		t.Error("contents differ")
	}
}
