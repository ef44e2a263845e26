package gitsource

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/memory"
)

// storedObject is an object as a store holds it.
type storedObject struct {
	t    plumbing.ObjectType
	cont string
}

// objectsOf returns every object of s by hash; an object whose hash is not that of its
// content is an error.
func objectsOf(s storer.EncodedObjectStorer) (map[plumbing.Hash]storedObject, error) {
	iter, err := s.IterEncodedObjects(plumbing.AnyObject)
	if err != nil {
		return nil, err
	}
	out := map[plumbing.Hash]storedObject{}
	err = iter.ForEach(func(o plumbing.EncodedObject) error {
		r, err := o.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		cont, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if h := plumbing.ComputeHash(o.Type(), cont); h != o.Hash() {
			return fmt.Errorf("object %s holds content hashing to %s", o.Hash(), h)
		}
		out[o.Hash()] = storedObject{o.Type(), string(cont)}
		return nil
	})
	return out, err
}

// storeBothWays stores pack, over base, with storePack into an objectStore and with
// go-git's packfile.UpdateObjectStorage into a go-git memory.Storage, from a reader that
// cannot seek (as a fetch's). It returns what each store then holds and each error; a
// panic is an error too (storePack's fails the test).
func storeBothWays(t *testing.T, pack []byte, base map[plumbing.Hash]storedObject) (ours, theirs map[plumbing.Hash]storedObject, errOurs, errTheirs error) {
	t.Helper()
	s := newObjectStore()
	m := memory.NewStorage()
	for h, o := range base {
		s.put(&memObject{t: o.t, h: h, sz: int64(len(o.cont)), cont: []byte(o.cont)})
		mo := &plumbing.MemoryObject{}
		mo.SetType(o.t)
		mo.Write([]byte(o.cont))
		if _, err := m.SetEncodedObject(mo); err != nil {
			t.Fatal(err)
		}
	}
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("storePack panicked on pack %x: %v", pack, p)
			}
		}()
		errOurs = storePack(s, struct{ io.Reader }{bytes.NewReader(pack)}, DefaultMaxPackBytes)
	}()
	func() {
		defer func() {
			if p := recover(); p != nil {
				errTheirs = fmt.Errorf("panic: %v", p)
			}
		}()
		errTheirs = packfile.UpdateObjectStorage(m, struct{ io.Reader }{bytes.NewReader(pack)})
	}()
	var err error
	if ours, err = objectsOf(s); err != nil {
		t.Fatalf("storePack: %v", err)
	}
	if theirs, err = objectsOf(m); err != nil {
		t.Fatalf("UpdateObjectStorage: %v", err)
	}
	return ours, theirs, errOurs, errTheirs
}

// sameObjects fails t unless the stores hold the same objects.
func sameObjects(t *testing.T, what string, ours, theirs map[plumbing.Hash]storedObject) {
	t.Helper()
	for h, o := range theirs {
		if got, ok := ours[h]; !ok {
			t.Errorf("%s: storePack lacks %s %s", what, o.t, h)
		} else if got != o {
			t.Errorf("%s: storePack holds %s %s as %s of %d bytes; go-git as %s of %d", what, o.t, h, got.t, len(got.cont), o.t, len(o.cont))
		}
	}
	for h, o := range ours {
		if _, ok := theirs[h]; !ok {
			t.Errorf("%s: storePack holds %s %s go-git does not", what, o.t, h)
		}
	}
}

// diffPack checks that storePack and go-git store the same objects of a valid pack.
func diffPack(t *testing.T, what string, pack []byte, base map[plumbing.Hash]storedObject) map[plumbing.Hash]storedObject {
	t.Helper()
	ours, theirs, errOurs, errTheirs := storeBothWays(t, pack, base)
	if errOurs != nil || errTheirs != nil {
		t.Fatalf("%s: storePack: %v; go-git: %v", what, errOurs, errTheirs)
	}
	sameObjects(t, what, ours, theirs)
	if len(ours) <= len(base) {
		t.Errorf("%s: %d objects stored over %d", what, len(ours), len(base))
	}
	return ours
}

// similarFiles returns n files much alike, as commit round makes them.
func similarFiles(n, round int) map[string]string {
	files := map[string]string{}
	for i := range n {
		var b strings.Builder
		for j := range 40 {
			fmt.Fprintf(&b, "server %d line %d: proxy_pass http://backend-%d;\n", i%7, j, (j*i)%13)
		}
		if i%3 == round%3 {
			fmt.Fprintf(&b, "# round %d\n", round)
		}
		files[fmt.Sprintf("sites/s%03d/site.cue", i)] = b.String()
	}
	return files
}

// goGitPack encodes every object of a go-git repository of several commits of similar
// files (blobs, trees, commits), with deltas by reference or by offset.
func goGitPack(t *testing.T, refDeltas bool) []byte {
	t.Helper()
	st := memory.NewStorage()
	fs := memfs.New()
	r, err := git.Init(st, fs)
	mustT(t, err)
	wt, err := r.Worktree()
	mustT(t, err)
	for round := range 4 {
		for name, cont := range similarFiles(30, round) {
			mustT(t, fs.MkdirAll(filepath.Dir(name), 0o755))
			f, err := fs.Create(name)
			mustT(t, err)
			f.Write([]byte(cont))
			f.Close()
		}
		mustT(t, wt.AddWithOptions(&git.AddOptions{All: true}))
		sig := &object.Signature{Name: "t", Email: "t@edge.invalid", When: testenv.GitEpoch}
		_, err := wt.Commit(fmt.Sprintf("round %d", round), &git.CommitOptions{Author: sig, Committer: sig})
		mustT(t, err)
	}
	iter, err := st.IterEncodedObjects(plumbing.AnyObject)
	mustT(t, err)
	var hashes []plumbing.Hash
	mustT(t, iter.ForEach(func(o plumbing.EncodedObject) error {
		hashes = append(hashes, o.Hash())
		return nil
	}))
	var pack bytes.Buffer
	_, err = packfile.NewEncoder(&pack, st, refDeltas).Encode(hashes, 10)
	mustT(t, err)
	return pack.Bytes()
}

// gitPacks makes a repository of several commits of similar files with the git CLI and
// returns packs of it as git makes them: all objects after `git repack -adf` with deep
// delta chains (deltas by offset), all objects by `git pack-objects` (deltas by reference),
// and a thin pack of the last commit against the one before, whose objects base holds.
func gitPacks(t *testing.T) (repacked, refPack, thin []byte, base map[plumbing.Hash]storedObject) {
	t.Helper()
	repo := testenv.NewGitRepo(t)
	for round := range 6 {
		repo.CommitStrings(fmt.Sprintf("round %d", round), similarFiles(60, round))
	}
	repo.Git("repack", "-adf", "--depth=200", "--window=200")
	packs, err := filepath.Glob(filepath.Join(repo.Dir, ".git", "objects", "pack", "*.pack"))
	if err != nil || len(packs) != 1 {
		t.Fatalf("packs after repack: %v, %v", packs, err)
	}
	repacked, err = os.ReadFile(packs[0])
	mustT(t, err)
	gitOut := func(stdin string, args ...string) []byte {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env, cmd.Stdin = repo.Dir, repo.Env(), strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	refPack = gitOut("HEAD\n", "pack-objects", "--revs", "--stdout", "--depth=200", "--window=200")
	thin = gitOut("HEAD\n^HEAD~1\n", "pack-objects", "--revs", "--thin", "--stdout")
	all := diffPack(t, "git repack -adf", repacked, nil)
	base = map[plumbing.Hash]storedObject{}
	for _, line := range strings.Fields(string(gitOut("", "rev-list", "--objects", "--no-object-names", "HEAD~1"))) {
		h := plumbing.NewHash(line)
		base[h] = all[h]
	}
	return repacked, refPack, thin, base
}

// TestStorePackAsGoGit: storePack stores exactly the objects go-git's parser stores (hash,
// type, content) from packs made by go-git's encoder and by git, thin ones too.
func TestStorePackAsGoGit(t *testing.T) {
	ofsPack, refPack := goGitPack(t, false), goGitPack(t, true)
	wantDeltas(t, "go-git, deltas by offset", ofsPack, plumbing.OFSDeltaObject)
	wantDeltas(t, "go-git, deltas by reference", refPack, plumbing.REFDeltaObject)
	diffPack(t, "go-git, deltas by offset", ofsPack, nil)
	diffPack(t, "go-git, deltas by reference", refPack, nil)

	repacked, gitRefPack, thin, base := gitPacks(t)
	wantDeltas(t, "git repack -adf", repacked, plumbing.OFSDeltaObject)
	wantDeltas(t, "git pack-objects", gitRefPack, plumbing.REFDeltaObject)
	wantDeltas(t, "git pack-objects --thin", thin, plumbing.REFDeltaObject)
	diffPack(t, "git pack-objects", gitRefPack, nil)
	diffPack(t, "git pack-objects --thin", thin, base)
}

// wantDeltas fails t unless pack holds deltas of type typ, some of them against deltas.
func wantDeltas(t *testing.T, what string, pack []byte, typ plumbing.ObjectType) {
	t.Helper()
	sc := packfile.NewScanner(bytes.NewReader(pack))
	_, count, err := sc.Header()
	mustT(t, err)
	isDelta := map[int64]bool{}
	deltas, chained := 0, 0
	for range count {
		oh, err := sc.NextObjectHeader()
		mustT(t, err)
		if oh.Type == typ {
			deltas++
			isDelta[oh.Offset] = true
			if isDelta[oh.OffsetReference] {
				chained++
			}
		}
	}
	if deltas == 0 || typ == plumbing.OFSDeltaObject && chained == 0 {
		t.Errorf("%s: %d objects, %d of them %s, %d against a delta", what, count, deltas, typ, chained)
	}
	t.Logf("%s: %d objects, %d of them %s, %d against a delta", what, count, deltas, typ, chained)
}

// smallPack returns a valid pack of a few objects with deltas by offset and by reference,
// some against deltas, and its objects.
func smallPack() []byte {
	a := []byte("the quick brown fox jumps over the lazy dog\n")
	aHash := plumbing.ComputeHash(plumbing.BlobObject, a)
	return craftPack([]rawObject{
		{t: plumbing.BlobObject, size: -1, data: a},
		// a[0:20] + "cat\n": against a, by offset
		{t: plumbing.OFSDeltaObject, size: -1, ofs: 0, data: deltaOf(44, 24, 0x90, 20, 4, 'c', 'a', 't', '\n')},
		// a + "!": against a, by reference
		{t: plumbing.REFDeltaObject, size: -1, ref: aHash, data: deltaOf(44, 45, 0x90, 44, 1, '!')},
		{t: plumbing.TreeObject, size: -1, data: []byte("100644 a\x00" + string(aHash[:]))},
	}, -1)
}

// goGitAccepts lists the broken packs of brokenPacks go-git's parser stores (git refuses
// them, and storePack).
var goGitAccepts = map[string]bool{"delta shorter than said": true}

// brokenPacks returns packs git refuses, by what is wrong with them.
func brokenPacks(t *testing.T) map[string][]byte {
	a := []byte("the quick brown fox jumps over the lazy dog\n")
	aHash := plumbing.ComputeHash(plumbing.BlobObject, a)
	blob := rawObject{t: plumbing.BlobObject, size: -1, data: a}
	z := deflate(a)
	badZ := bytes.Clone(z)
	badZ[len(badZ)-6] ^= 0x40 // the content's last bytes: the Adler-32 fails
	out := map[string][]byte{
		"empty":             {},
		"header only":       []byte("PACK"),
		"bad signature":     fixChecksum(append([]byte("PACX\x00\x00\x00\x02\x00\x00\x00\x00"), make([]byte, 20)...)),
		"version 3":         fixChecksum(append([]byte("PACK\x00\x00\x00\x03\x00\x00\x00\x00"), make([]byte, 20)...)),
		"more objects said": craftPack([]rawObject{blob}, 2),
		"corrupt zlib":      craftPack([]rawObject{{t: plumbing.BlobObject, size: -1, z: badZ}}, -1),
		"zlib cut":          craftPack([]rawObject{{t: plumbing.BlobObject, size: int64(len(a)), z: z[:len(z)/2]}}, -1),
		"object type 5":     craftPack([]rawObject{{t: 5, size: -1, data: a}}, -1),
		"object type 0":     craftPack([]rawObject{{t: 0, size: -1, data: a}}, -1),
		"longer than said":  craftPack([]rawObject{{t: plumbing.BlobObject, size: 10, data: a}}, -1),
		"shorter than said": craftPack([]rawObject{{t: plumbing.BlobObject, size: 100, data: a}}, -1),
		"delta shorter than said": craftPack([]rawObject{blob,
			{t: plumbing.REFDeltaObject, size: 100, ref: aHash, data: deltaOf(44, 1, 1, 'a')}}, -1),
		"delta base size wrong": craftPack([]rawObject{blob,
			{t: plumbing.REFDeltaObject, size: -1, ref: aHash, data: deltaOf(43, 4, 0x90, 4)}}, -1),
		"delta copies past its base": craftPack([]rawObject{blob,
			{t: plumbing.REFDeltaObject, size: -1, ref: aHash, data: deltaOf(44, 8, 0x91, 40, 8)}}, -1),
		"delta longer than its target": craftPack([]rawObject{blob,
			{t: plumbing.REFDeltaObject, size: -1, ref: aHash, data: deltaOf(44, 2, 3, 'a', 'b', 'c')}}, -1),
		"delta shorter than its target": craftPack([]rawObject{blob,
			{t: plumbing.REFDeltaObject, size: -1, ref: aHash, data: deltaOf(44, 9, 3, 'a', 'b', 'c')}}, -1),
		"delta command 0": craftPack([]rawObject{blob,
			{t: plumbing.REFDeltaObject, size: -1, ref: aHash, data: deltaOf(44, 1, 0)}}, -1),
		"delta data left": craftPack([]rawObject{blob,
			{t: plumbing.REFDeltaObject, size: -1, ref: aHash, data: deltaOf(44, 1, 1, 'a', 'b')}}, -1),
		"delta header only": craftPack([]rawObject{blob,
			{t: plumbing.REFDeltaObject, size: -1, ref: aHash, data: []byte{44}}}, -1),
		"offset to no object": craftPack([]rawObject{blob,
			{t: plumbing.OFSDeltaObject, size: -1, ofs: 3, data: deltaOf(44, 1, 1, 'a')}}, -1),
		"offset before the pack": craftPack([]rawObject{blob,
			{t: plumbing.OFSDeltaObject, size: -1, ofs: 1000, data: deltaOf(44, 1, 1, 'a')}}, -1),
		"offset to itself": craftPack([]rawObject{{t: plumbing.OFSDeltaObject, size: -1, ofs: 0, data: deltaOf(44, 1, 1, 'a')}}, -1),
		"thin pack, unknown base": craftPack([]rawObject{
			{t: plumbing.REFDeltaObject, size: -1, ref: plumbing.NewHash("0123456789abcdef0123456789abcdef01234567"), data: deltaOf(44, 1, 1, 'a')}}, -1),
		"bad checksum": func() []byte {
			p := craftPack([]rawObject{blob}, -1)
			p[len(p)-1] ^= 1
			return p
		}(),
	}
	pack, _ := encodePack(t, 10, false)
	for _, n := range []int{13, 40, len(pack) / 3, len(pack) / 2, len(pack) - 21} {
		out[fmt.Sprintf("cut at %d of %d", n, len(pack))] = pack[:n]
	}
	return out
}

// TestStorePackFailsAsGoGit: storePack refuses the broken packs go-git's parser refuses,
// and a delta whose size in its entry's header is wrong, which go-git does not check.
func TestStorePackFailsAsGoGit(t *testing.T) {
	for what, pack := range brokenPacks(t) {
		_, _, errOurs, errTheirs := storeBothWays(t, pack, nil)
		if (errTheirs == nil) != goGitAccepts[what] {
			t.Errorf("%s: go-git: %v", what, errTheirs)
		}
		if errOurs == nil {
			t.Errorf("%s: storePack accepts it; go-git: %v", what, errTheirs)
		}
		t.Logf("%s: storePack: %v; go-git: %v", what, errOurs, errTheirs)
	}
}

// TestStorePackFlippedBytesAsGoGit: a pack with any one byte changed (its checksum made
// right again, so the change reaches the parsers) is refused by both storePack and go-git,
// or stored alike.
func TestStorePackFlippedBytesAsGoGit(t *testing.T) {
	pack := smallPack()
	for i := range len(pack) - 20 {
		for _, flip := range []byte{0x01, 0x10, 0x80, 0xff} {
			p := bytes.Clone(pack)
			p[i] ^= flip
			fixChecksum(p)
			ours, theirs, errOurs, errTheirs := storeBothWays(t, p, nil)
			what := fmt.Sprintf("byte %d ^ %#x", i, flip)
			switch {
			case (errOurs == nil) != (errTheirs == nil):
				t.Errorf("%s: storePack: %v; go-git: %v", what, errOurs, errTheirs)
			case errOurs == nil:
				sameObjects(t, what, ours, theirs)
			}
		}
	}
}
