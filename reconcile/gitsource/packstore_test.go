package gitsource

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// encodePack returns a pack of n similar blobs (so the encoder makes deltas of them, by
// reference or by offset) and the blobs by hash.
func encodePack(t testing.TB, n int, refDeltas bool) ([]byte, map[plumbing.Hash]string) {
	t.Helper()
	src := newObjectStore()
	blobs := map[plumbing.Hash]string{}
	var hashes []plumbing.Hash
	for i := range n {
		content := strings.Repeat("-----BEGIN CERTIFICATE-----\nMIIBhDCCASqgAwIBAgIRAKx\n", 20) + fmt.Sprintf("site %d\n", i)
		o := &memObject{t: plumbing.BlobObject, sz: int64(len(content)), cont: []byte(content)}
		h, err := src.SetEncodedObject(o)
		if err != nil {
			t.Fatal(err)
		}
		blobs[h] = content
		hashes = append(hashes, h)
	}
	var pack bytes.Buffer
	if _, err := packfile.NewEncoder(&pack, src, refDeltas).Encode(hashes, 10); err != nil {
		t.Fatal(err)
	}
	return pack.Bytes(), blobs
}

// TestStorePack: every object of a pack, deltas by offset or by reference, is stored
// under its hash with its content.
func TestStorePack(t *testing.T) {
	for _, refDeltas := range []bool{false, true} {
		pack, blobs := encodePack(t, 50, refDeltas)
		s := newObjectStore()
		if err := storePack(s, bytes.NewReader(pack), DefaultMaxPackBytes); err != nil {
			t.Fatalf("refDeltas %v: %v", refDeltas, err)
		}
		if len(s.objects) != len(blobs) {
			t.Errorf("refDeltas %v: %d objects stored; want %d", refDeltas, len(s.objects), len(blobs))
		}
		for h, want := range blobs {
			o, err := s.EncodedObject(plumbing.BlobObject, h)
			if err != nil {
				t.Fatalf("refDeltas %v: %s: %v", refDeltas, h, err)
			}
			if got := string(o.(*memObject).cont); got != want || o.Hash() != h {
				t.Errorf("refDeltas %v: %s holds %q (hash %s)", refDeltas, h, got, o.Hash())
			}
		}
	}
}

// TestStorePackCut: a pack that ends early fails as malformed.
func TestStorePackCut(t *testing.T) {
	pack, _ := encodePack(t, 20, false)
	err := storePack(newObjectStore(), bytes.NewReader(pack[:len(pack)/2]), DefaultMaxPackBytes)
	if !errors.Is(err, packfile.ErrMalformedPackFile) {
		t.Errorf("a pack cut in half: %v; want ErrMalformedPackFile", err)
	}
}

// BenchmarkStorePack10k stores a pack of 10,000 similar blobs, deltas by offset.
func BenchmarkStorePack10k(b *testing.B) {
	pack, _ := encodePack(b, 10000, false)
	b.SetBytes(int64(len(pack)))
	b.ReportAllocs()
	for b.Loop() {
		if err := storePack(newObjectStore(), bytes.NewReader(pack), DefaultMaxPackBytes); err != nil {
			b.Fatal(err)
		}
	}
}
