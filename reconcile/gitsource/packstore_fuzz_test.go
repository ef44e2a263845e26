package gitsource

import (
	"bytes"
	"io"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// fuzzSeeds adds small valid packs, and broken ones, to f's corpus.
func fuzzSeeds(f *testing.F) {
	f.Add(smallPack())
	ofs, _ := encodePack(f, 4, false)
	ref, _ := encodePack(f, 4, true)
	f.Add(ofs)
	f.Add(ref)
	a := []byte("the quick brown fox jumps over the lazy dog\n")
	f.Add(craftPack([]rawObject{{t: plumbing.REFDeltaObject, size: -1, ref: plumbing.ComputeHash(plumbing.BlobObject, a),
		data: deltaOf(44, 1<<40, 0x90, 44)}}, -1))
}

// fuzzMaxPackBytes is the budget of a fuzzed pack: small, so that an input whose deltas
// on deltas inflate to all of it (a few KiB can make a GiB) does not stall the fuzzer.
const fuzzMaxPackBytes = 16 << 20

// fuzzBase is the blob a fuzzed pack's reference deltas may name as a thin pack's base.
var fuzzBase = []byte("the quick brown fox jumps over the lazy dog\n")

// FuzzStorePack: storePack never panics, whatever the pack, and what it stores when it
// succeeds is right: every object's hash is that of its type and content.
func FuzzStorePack(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, pack []byte) {
		s := newObjectStore()
		if _, err := s.SetEncodedObject(&memObject{t: plumbing.BlobObject, sz: int64(len(fuzzBase)), cont: fuzzBase}); err != nil {
			t.Fatal(err)
		}
		if err := storePack(s, struct{ io.Reader }{bytes.NewReader(pack)}, fuzzMaxPackBytes); err != nil {
			return
		}
		if _, err := objectsOf(s); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzEarlyScan: the early scan, which reads the same pack on a goroutine of its own (where
// a panic would end the agent), never panics, and every blob it hands out has the hash
// given with it.
func FuzzEarlyScan(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, pack []byte) {
		sp := newSpool()
		sp.Write(pack)
		sp.close()
		scanEarly(sp, &EarlyBlobs{Prefix: []byte("the"), Func: func(hash, content []byte) bool {
			if h := plumbing.ComputeHash(plumbing.BlobObject, content); !bytes.Equal(h[:], hash) || !bytes.HasPrefix(content, []byte("the")) {
				t.Fatalf("early blob %x: content %q hashes to %s", hash, content, h)
			}
			return true
		}}, fuzzMaxPackBytes)
	})
}
