package gitsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// rawTree is the tree object of content, as a plumbing.MemoryObject (what go-git decodes).
func rawTree(content string) *plumbing.MemoryObject {
	o := &plumbing.MemoryObject{}
	o.SetType(plumbing.TreeObject)
	_, _ = o.Write([]byte(content))
	return o
}

// hashOf is a 20-byte object id made of b repeated.
func hashOf(b byte) string {
	h := make([]byte, 20)
	for i := range h {
		h[i] = b
	}
	return string(h)
}

// TestScanTreeAsDecode: scanTree reads every entry as go-git's Tree.Decode does (names with
// spaces and any bytes but NUL, modes made canonical, submodules), and refuses what Decode
// refuses, wrapping object.ErrMalformedTree.
func TestScanTreeAsDecode(t *testing.T) {
	good := "40000 dir\x00" + hashOf(1) + "100644 a file\x00" + hashOf(2) + "100755 run.sh\x00" + hashOf(3) +
		"100664 group-writable\x00" + hashOf(4) + "120000 link\x00" + hashOf(5) + "160000 module\x00" + hashOf(6) +
		"644 old-style\x00" + hashOf(7) + "100644 é\x00" + hashOf(8) + "100644 zero\x00" + hashOf(0)
	tests := []struct{ name, content string }{
		{"entries", good},
		{"empty tree", ""},
		{"no mode terminator", "100644"},
		{"mode not octal", "100648 a\x00" + hashOf(1)},
		{"empty mode", " a\x00" + hashOf(1)},
		{"mode over 32 bits", "77777777777 a\x00" + hashOf(1)},
		{"no name terminator", "100644 a"},
		{"empty name", "100644 \x00" + hashOf(1)},
		{"id cut short", "100644 a\x00" + hashOf(1)[:19]},
		{"second entry cut short", "100644 a\x00" + hashOf(1) + "100644 b\x00" + hashOf(2)[:3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want object.Tree
			wantErr := want.Decode(rawTree(tt.content))
			var got []object.TreeEntry
			err := scanTree([]byte(tt.content), func(e rawTreeEntry) error {
				got = append(got, object.TreeEntry{Name: string(e.name), Mode: e.mode, Hash: e.hash})
				return nil
			})
			if (err == nil) != (wantErr == nil) || err != nil && !errors.Is(err, object.ErrMalformedTree) {
				t.Fatalf("scanTree error %v; Tree.Decode's %v (want both nil or both malformed)", err, wantErr)
			}
			if err == nil && !slices.Equal(got, want.Entries) {
				t.Fatalf("scanTree read\n%v\nTree.Decode\n%v", got, want.Entries)
			}
		})
	}
}

// TestScanTreeStopsAtCallbackError: the callback's error ends the scan and is returned as is.
func TestScanTreeStopsAtCallbackError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := scanTree([]byte("100644 a\x00"+hashOf(1)+"100644 b\x00"+hashOf(2)), func(rawTreeEntry) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Fatalf("err %v after %d calls; want stop after 1", err, calls)
	}
}

// storeTree stores a tree of the given entries (sorted by name) in s and returns its hash.
func storeTree(t testing.TB, s *objectStore, entries []object.TreeEntry) plumbing.Hash {
	t.Helper()
	o := s.NewEncodedObject()
	if err := (&object.Tree{Entries: entries}).Encode(o); err != nil {
		t.Fatal(err)
	}
	h, err := s.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// storeBlob stores content as a blob in s and returns its hash.
func storeBlob(t testing.TB, s *objectStore, content string) plumbing.Hash {
	t.Helper()
	o := s.NewEncodedObject()
	o.SetType(plumbing.BlobObject)
	o.SetSize(int64(len(content)))
	w, _ := o.Writer()
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	h, err := s.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// bigFlatTree stores a root tree holding dir/ with n files, file changed holding version v,
// and returns the root tree.
func bigFlatTree(t testing.TB, s *objectStore, n, changed int, v string) *object.Tree {
	t.Helper()
	files := make([]object.TreeEntry, n)
	same := storeBlob(t, s, "same\n")
	for i := range files {
		files[i] = object.TreeEntry{Name: fmt.Sprintf("site%05d.cue", i), Mode: filemode.Regular, Hash: same}
	}
	files[changed].Hash = storeBlob(t, s, "changed "+v+"\n")
	dir := storeTree(t, s, files)
	root, err := object.GetTree(s, storeTree(t, s, []object.TreeEntry{{Name: "sites", Mode: filemode.Dir, Hash: dir}}))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestTreeFSChangeAllocatesForTheChangeOnly: reading a revision over the last one allocates
// for the entries that changed, not for every entry of a changed directory (10,000 sites:
// one changed file cost 10,000 entries and names decoded). The incremental read still
// lists what a fresh read does.
func TestTreeFSChangeAllocatesForTheChangeOnly(t *testing.T) {
	const n = 2000
	s := newObjectStore()
	ctx := context.Background()
	t1, t2 := bigFlatTree(t, s, n, 7, "1"), bigFlatTree(t, s, n, 7, "2")
	prev, err := newTreeFS(ctx, s, t1.Hash, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var next *TreeFS
	allocs := testing.AllocsPerRun(5, func() {
		if next, err = newTreeFS(ctx, s, t2.Hash, time.Time{}, prev); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 50 {
		t.Errorf("a one-file change in a directory of %d files allocated %.0f times; want a few dozen at most", n, allocs)
	}
	fresh, err := newTreeFS(ctx, s, t2.Hash, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fsListing(t, next), fsListing(t, fresh); got != want {
		t.Fatalf("incremental read differs from a fresh read:\n%s\nwant:\n%s", got, want)
	}
	if a, b := next.root.children[0].children[8], prev.root.children[0].children[8]; a != b {
		t.Error("an unchanged file was read again")
	}
}

// TestTreeFSMalformedTree: a damaged tree object fails the read, naming the directory.
func TestTreeFSMalformedTree(t *testing.T) {
	s := newObjectStore()
	o := s.NewEncodedObject()
	o.SetType(plumbing.TreeObject)
	w, _ := o.Writer()
	_, _ = w.Write([]byte("100644 a\x00short"))
	bad, err := s.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	root, err := object.GetTree(s, storeTree(t, s, []object.TreeEntry{{Name: "sites", Mode: filemode.Dir, Hash: bad}}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = newTreeFS(context.Background(), s, root.Hash, time.Time{}, nil)
	if !errors.Is(err, object.ErrMalformedTree) || err == nil || !strings.Contains(err.Error(), "sites: read tree "+bad.String()) {
		t.Fatalf("error %v; want a malformed tree error naming sites and %s", err, bad)
	}
}
