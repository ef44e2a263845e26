package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// treeEntry is one entry of a tree object as git writes it.
func treeEntry(mode, name string, h plumbing.Hash) []byte {
	return append(fmt.Appendf(nil, "%s %s\x00", mode, name), h[:]...)
}

// putObject stores an object of type t and content b in s, hashed as git does.
func putObject(s *objectStore, t plumbing.ObjectType, b []byte) plumbing.Hash {
	o := &memObject{t: t, sz: int64(len(b)), cont: b}
	o.h = plumbing.ComputeHash(t, b)
	s.put(o)
	return o.h
}

// putCommit stores a commit of tree in s and returns it decoded.
func putCommit(t testing.TB, s *objectStore, tree plumbing.Hash) *object.Commit {
	t.Helper()
	b := fmt.Appendf(nil, "tree %s\nauthor a <a@b> 1700000000 +0000\ncommitter a <a@b> 1700000000 +0000\n\nhostile\n", tree)
	c, _, err := peelToCommit(s, putObject(s, plumbing.CommitObject, b))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// nested returns a tree holding depth directories named name each in the next, the last
// holding leaf (or nothing).
func nested(s *objectStore, name string, depth int, leaf []byte) plumbing.Hash {
	h := putObject(s, plumbing.TreeObject, leaf)
	for range depth {
		h = putObject(s, plumbing.TreeObject, treeEntry("40000", name, h))
	}
	return h
}

// bomb returns a tree of levels levels, each of fan entries naming the tree below: fan to
// the power of levels entries in a few hundred bytes.
func bomb(s *objectStore, blob plumbing.Hash, fan, levels int) plumbing.Hash {
	var b []byte
	for i := range fan {
		b = append(b, treeEntry("100644", fmt.Sprintf("f%02d", i), blob)...)
	}
	h := putObject(s, plumbing.TreeObject, b)
	for range levels {
		b = nil
		for i := range fan {
			b = append(b, treeEntry("40000", fmt.Sprintf("d%02d", i), h)...)
		}
		h = putObject(s, plumbing.TreeObject, b)
	}
	return h
}

// TestHostileTrees: a commit whose tree is hostile, as git hash-object --literally or a
// hand-made pack can make one, fails readCommit with an error naming the path, having
// allocated a bounded amount (checked without the race detector, which allocates for its
// own); a revision is held or nothing. The same in the compact walk of trees outside a
// subdir.
func TestHostileTrees(t *testing.T) {
	s := newObjectStore()
	blob := putObject(s, plumbing.BlobObject, []byte("a: 1\n"))
	missing := plumbing.ComputeHash(plumbing.TreeObject, []byte("not stored"))
	sites := func(entries ...[]byte) plumbing.Hash {
		return putObject(s, plumbing.TreeObject, treeEntry("40000", "sites", putObject(s, plumbing.TreeObject, bytes.Join(entries, nil))))
	}
	var million bytes.Buffer
	for i := range 1_000_000 {
		million.Write(treeEntry("100644", fmt.Sprintf("%07d", i), blob))
	}
	// A tree naming itself: only a hand-made store can hold one (its hash would have to be
	// its own content's), as a state file could.
	self := plumbing.ComputeHash(plumbing.TreeObject, []byte("self"))
	loop := treeEntry("40000", "loop", self)
	s.put(&memObject{t: plumbing.TreeObject, h: self, sz: int64(len(loop)), cont: loop})

	cases := []struct {
		name  string
		root  plumbing.Hash
		is    error  // nil: any error
		say   string // in the error
		alloc uint64 // at most
	}{
		{"dot-dot", sites(treeEntry("100644", "..", blob)), nil, `"sites/..": invalid file name`, 64 << 10},
		{"dot", sites(treeEntry("40000", ".", blob)), nil, `"sites/.": invalid file name`, 64 << 10},
		{"slash", sites(treeEntry("100644", "a/b.cue", blob)), nil, `"sites/a/b.cue": invalid file name`, 64 << 10},
		{"absolute", sites(treeEntry("100644", "/etc/passwd", blob)), nil, `"sites//etc/passwd": invalid file name`, 64 << 10},
		{".git", sites(treeEntry("40000", ".git", blob)), nil, `"sites/.git": a .git entry`, 64 << 10},
		{".GIT", sites(treeEntry("100644", ".GIT", blob)), nil, `"sites/.GIT": a .git entry`, 64 << 10},
		{"NUL", sites([]byte("100644 a\x00b\x00"), blob[:10]), object.ErrMalformedTree, "sites: read tree", 64 << 10},
		{"long name", sites(treeEntry("100644", strings.Repeat("n", 5000), blob)), ErrTreeTooLarge, "sites/nnnn", 64 << 10},
		{"long path", nested(s, strings.Repeat("d", 200), 30, nil), ErrTreeTooLarge, "(MaxPathLen 4096)", 256 << 10},
		{"million entries", sites(million.Bytes()), ErrTreeTooLarge, "sites: a tree of 1000000 entries", 64 << 10},
		{"10,000 deep", nested(s, "d", 10_000, treeEntry("100644", "a.cue", blob)), ErrTreeTooLarge, "d/d/d", 1 << 20},
		{"bomb", bomb(s, blob, 16, 8), ErrTreeTooLarge, "more than 524288 entries in the revision (MaxRevisionEntries)", 1 << 20},
		{"self", self, ErrTreeTooLarge, "loop/loop/loop", 1 << 20},
		{"missing", sites(treeEntry("40000", "gone", missing)), plumbing.ErrObjectNotFound, "sites/gone: read tree " + missing.String(), 64 << 10},
		{"blob as tree", sites(treeEntry("40000", "notdir", blob)), plumbing.ErrObjectNotFound, "sites/notdir: read tree", 64 << 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := putCommit(t, s, tc.root)
			var rev *Revision
			var err error
			alloc := allocatedBy(func() { rev, err = readCommit(context.Background(), s, c, ".", nil) })
			switch {
			case err == nil:
				t.Fatalf("readCommit succeeded: %v", fsListingErr(rev.FS))
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("readCommit: %v; want %v", err, tc.is)
			case !strings.Contains(err.Error(), tc.say):
				t.Errorf("readCommit: %v; want it to say %q", err, tc.say)
			}
			if len(err.Error()) > 1024 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			if !raceEnabled && alloc > tc.alloc {
				t.Errorf("readCommit allocated %d KiB; want at most %d", alloc>>10, tc.alloc>>10)
			}
			t.Logf("%.300s (%d KiB)", err, alloc>>10)

			// The compact walk meets the same trees above a subdir.
			if tc.name == "million entries" || tc.name == "bomb" {
				return // (not a bound of compact: it walks each tree once, and the store holds them)
			}
			cs, _ := s.clone() // (compact drops what the commit does not reach)
			src := &Source{store: cs, dir: "other"}
			err = src.compact(nil, c, nil)
			if tc.name == "10,000 deep" && !errors.Is(err, ErrTreeTooLarge) {
				t.Errorf("compact: %v; want ErrTreeTooLarge", err) // (a cycle is met as a tree seen)
			}
		})
	}
}

// fsListingErr lists a few paths of fsys, for a message.
func fsListingErr(fsys fs.FS) string {
	var paths []string
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if len(paths) > 10 {
			return fs.SkipAll
		}
		paths = append(paths, p)
		return nil
	})
	return strings.Join(paths, " ")
}

// TestTreeSharedSubtrees: directories of the same tree share their entries (a revision of
// a tree nested under itself costs what its distinct trees do) and list the same, and
// count against MaxRevisionEntries each time.
func TestTreeSharedSubtrees(t *testing.T) {
	s := newObjectStore()
	blob := putObject(s, plumbing.BlobObject, []byte("a: 1\n"))
	root := bomb(s, blob, 8, 5) // 8^5 * 9 entries: 294,912 in a revision
	c := putCommit(t, s, root)
	var rev *Revision
	var err error
	alloc := allocatedBy(func() { rev, err = readCommit(context.Background(), s, c, ".", nil) })
	if err != nil {
		t.Fatal(err)
	}
	if !raceEnabled && alloc > 1<<20 {
		t.Errorf("a tree of 294,912 entries over 6 distinct trees allocated %d KiB", alloc>>10)
	}
	if got := readString(t, rev.FS, "d07/d03/d00/d05/d01/f07"); got != "a: 1\n" {
		t.Errorf("a file deep down = %q", got)
	}
	if n := rev.FS.(*TreeFS).root.below; n != 8+64+512+4096+32768+262144 {
		t.Errorf("%d entries counted", n)
	}
	if _, err := readCommit(context.Background(), s, putCommit(t, s, bomb(s, blob, 8, 6)), ".", nil); !errors.Is(err, ErrTreeTooLarge) {
		t.Errorf("8^6 directories: %v; want ErrTreeTooLarge", err)
	}
}

// TestTreeDeclaredHugeBlob: a blob whose object says 2 GiB is listed with that size and
// not read (opening it fails with ErrFileTooLarge naming it); a link of that size fails
// the read.
func TestTreeDeclaredHugeBlob(t *testing.T) {
	s := newObjectStore()
	huge := &plumbing.MemoryObject{}
	huge.SetType(plumbing.BlobObject)
	huge.SetSize(2 << 30)
	h := plumbing.ComputeHash(plumbing.BlobObject, []byte("huge"))
	s.objects[h] = huge
	certs := putObject(s, plumbing.TreeObject, treeEntry("100644", "a.pem", h))
	sites := putObject(s, plumbing.TreeObject, treeEntry("100644", "a.cue", putObject(s, plumbing.BlobObject, []byte("a"))))
	root := putObject(s, plumbing.TreeObject, append(treeEntry("40000", "certs", certs), treeEntry("40000", "sites", sites)...))
	var rev *Revision
	var err error
	alloc := allocatedBy(func() { rev, err = readCommit(context.Background(), s, putCommit(t, s, root), ".", nil) })
	if err != nil {
		t.Fatal(err)
	}
	if !raceEnabled && alloc > 64<<10 {
		t.Errorf("allocated %d KiB", alloc>>10)
	}
	info, err := fs.Stat(rev.FS, "certs/a.pem")
	if err != nil || info.Size() != 2<<30 {
		t.Errorf("Stat: %v, %v", info, err)
	}
	_, err = fs.ReadFile(rev.FS, "certs/a.pem")
	var pe *fs.PathError
	if !errors.Is(err, ErrFileTooLarge) || !errors.As(err, &pe) || pe.Path != "certs/a.pem" {
		t.Errorf("ReadFile: %v; want ErrFileTooLarge naming certs/a.pem", err)
	}
	link := putObject(s, plumbing.TreeObject, treeEntry("120000", "a.cue", h))
	_, err = readCommit(context.Background(), s, putCommit(t, s, putObject(s, plumbing.TreeObject, treeEntry("40000", "sites", link))), ".", nil)
	if err == nil || !strings.Contains(err.Error(), "sites/a.cue: symbolic link target of 2147483648 bytes") {
		t.Errorf("a huge link: %v", err)
	}
}
