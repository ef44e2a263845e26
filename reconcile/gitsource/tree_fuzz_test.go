package gitsource

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// fuzzCommit is a commit object of tree.
func fuzzCommit(tree plumbing.Hash) []byte {
	return fmt.Appendf(nil, "tree %s\nauthor a <a@b> 1700000000 +0000\ncommitter a <a@b> 1700000000 +0000\n\nm\n", tree)
}

// checkRevisionRead reads every commit of s as a Source does, at the root and below
// "sites", then compacts a copy of the store to it: no panic, and a revision read holds
// valid paths within the bounds, every file readable or failing with an error naming it.
func checkRevisionRead(t *testing.T, s *objectStore) {
	for h, o := range s.objects {
		if o.Type() != plumbing.CommitObject && o.Type() != plumbing.TagObject {
			continue
		}
		c, tags, err := peelToCommit(s, h)
		if err != nil {
			continue
		}
		for _, dir := range []string{".", "sites"} {
			rev, err := readCommit(context.Background(), s, c, dir, nil)
			if err != nil {
				continue
			}
			tfs := rev.FS.(*TreeFS)
			if tfs.root.below > MaxRevisionEntries {
				t.Fatalf("a revision of %d entries", tfs.root.below)
			}
			n := 0
			err = fs.WalkDir(tfs, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if n++; n > 1<<12 {
					return fs.SkipAll // (shared subtrees: enough)
				}
				if !fs.ValidPath(p) || len(p) > MaxPathLen {
					t.Fatalf("path %q in a revision", p)
				}
				if d.Type().IsRegular() {
					if _, err := fs.ReadFile(tfs, p); err != nil && !bytes.Contains([]byte(err.Error()), []byte(p)) {
						t.Fatalf("ReadFile(%s): %v, not naming it", p, err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("WalkDir: %v", err)
			}
			cs, _ := s.clone()
			src := &Source{store: cs, dir: dir}
			_ = src.compact(tags, c, tfs)
		}
	}
}

// FuzzTreeObjects: a commit, its root tree and one more tree, any bytes, stored beside a
// blob, are read as a Source reads a fetched revision (readCommit at the root and below a
// subdir, then compact) without a panic, and what is read keeps the bounds.
func FuzzTreeObjects(f *testing.F) {
	blob := []byte("a: 1\n")
	bh := plumbing.ComputeHash(plumbing.BlobObject, blob)
	sub := append(treeEntry("100644", "a.cue", bh), treeEntry("120000", "l.cue", bh)...)
	sh := plumbing.ComputeHash(plumbing.TreeObject, sub)
	root := append(treeEntry("100644", "README", bh), treeEntry("40000", "sites", sh)...)
	f.Add(fuzzCommit(plumbing.ComputeHash(plumbing.TreeObject, root)), root, sub)
	self := append(treeEntry("40000", "a", sh), treeEntry("40000", "b", sh)...)
	f.Add(fuzzCommit(plumbing.ComputeHash(plumbing.TreeObject, self)), self, sub)
	f.Add(fuzzCommit(sh), treeEntry("40000", "..", sh), treeEntry("160000", "sites", bh))
	f.Fuzz(func(t *testing.T, commit, tree, sub []byte) {
		s := newObjectStore()
		putObject(s, plumbing.BlobObject, blob)
		putObject(s, plumbing.TreeObject, sub)
		putObject(s, plumbing.TreeObject, tree)
		putObject(s, plumbing.CommitObject, commit)
		checkRevisionRead(t, s)
	})
}

// FuzzPackRevision: a fetched pack, any bytes, stored (storePack) and its commits read as a
// Source reads them, never panics.
func FuzzPackRevision(f *testing.F) {
	fuzzSeeds(f)
	blob := []byte("a: 1\n")
	bh := plumbing.ComputeHash(plumbing.BlobObject, blob)
	sub := treeEntry("100644", "a.cue", bh)
	root := treeEntry("40000", "sites", plumbing.ComputeHash(plumbing.TreeObject, sub))
	f.Add(craftPack([]rawObject{
		{t: plumbing.CommitObject, size: -1, data: fuzzCommit(plumbing.ComputeHash(plumbing.TreeObject, root))},
		{t: plumbing.TreeObject, size: -1, data: root},
		{t: plumbing.TreeObject, size: -1, data: sub},
		{t: plumbing.BlobObject, size: -1, data: blob},
	}, -1))
	f.Fuzz(func(t *testing.T, pack []byte) {
		s := newObjectStore()
		if err := storePack(s, struct{ io.Reader }{bytes.NewReader(pack)}, fuzzMaxPackBytes); err != nil {
			return
		}
		checkRevisionRead(t, s)
	})
}
