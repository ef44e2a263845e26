package gitsource

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// allocatedBy returns the bytes the process allocated while f ran.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// zeros is a zlib stream of n zero bytes (a zlib bomb: about n/1000 bytes).
func zeros(n int) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestSpeed)
	chunk := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		w.Write(chunk[:k])
		n -= k
	}
	w.Close()
	return b.Bytes()
}

// TestStorePackBounds: a hostile pack fails with a clear error, having made storePack
// allocate little (under 8 MiB), whatever its headers say and whatever its zlib streams
// inflate to.
func TestStorePackBounds(t *testing.T) {
	a := []byte("the quick brown fox jumps over the lazy dog\n")
	aHash := plumbing.ComputeHash(plumbing.BlobObject, a)
	blob := rawObject{t: plumbing.BlobObject, size: -1, data: a}
	big := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB: a base to copy from
	bigBlob := rawObject{t: plumbing.BlobObject, size: -1, data: big}
	bigHash := plumbing.ComputeHash(plumbing.BlobObject, big)
	var copies []byte // 64 ops of 64 KiB each: 4 MiB
	for range 64 {
		copies = append(copies, 0x80) // copy 64 KiB (size 0) from offset 0
	}
	var emptyBlocks []byte // a zlib stream of empty stored blocks: input, no output
	emptyBlocks = append(emptyBlocks, 0x78, 0x01)
	for range 1 << 18 {
		emptyBlocks = append(emptyBlocks, 0x00, 0x00, 0x00, 0xff, 0xff)
	}
	many, emptyZ := make([]rawObject, 10000), deflate(nil)
	for i := range many {
		many[i] = rawObject{t: plumbing.BlobObject, size: 0, z: emptyZ}
	}
	for _, c := range []struct {
		what string
		pack []byte
		max  int64
		want error
	}{
		{"a 20-byte delta says 1 TiB", craftPack([]rawObject{blob,
			{t: plumbing.REFDeltaObject, size: -1, ref: aHash, data: deltaOf(44, 1<<40, 0x90, 44)}}, -1), DefaultMaxPackBytes, ErrPackTooLarge},
		{"a 70-byte delta makes 4 MiB", craftPack([]rawObject{bigBlob,
			{t: plumbing.REFDeltaObject, size: -1, ref: bigHash, data: deltaOf(uint64(len(big)), 4<<20, copies...)}}, -1), 1 << 20, ErrPackTooLarge},
		{"an object says 1 TiB", craftPack([]rawObject{{t: plumbing.BlobObject, size: 1 << 40, data: a}}, -1), DefaultMaxPackBytes, ErrPackTooLarge},
		{"an object says 2^59 bytes", craftPack([]rawObject{{t: plumbing.BlobObject, size: 1 << 59, data: a}}, -1), DefaultMaxPackBytes, ErrPackTooLarge},
		{"a delta says 2^59 bytes", craftPack([]rawObject{blob, {t: plumbing.REFDeltaObject, size: 1 << 59, ref: aHash, data: a}}, -1), DefaultMaxPackBytes, ErrPackTooLarge},
		{"an object says 2^64 bytes", craftPack([]rawObject{{t: plumbing.BlobObject, size: 1<<63 - 1, data: a}}, -1), DefaultMaxPackBytes, packfile.ErrMalformedPackFile},
		{"a zlib bomb says 1 KiB, inflates to 16 MiB", craftPack([]rawObject{{t: plumbing.BlobObject, size: 1 << 10, z: zeros(16 << 20)}}, -1), DefaultMaxPackBytes, packfile.ErrMalformedPackFile},
		{"a 20-byte pack says an 800 MiB tree", []byte("PACK\x00\x00\x00\x02\xa7\b\xf3h\xad\xc6\xed\xab\x18\x13U,h0"), DefaultMaxPackBytes, nil},
		{"an honest 8 MiB object, 1 MiB allowed", craftPack([]rawObject{{t: plumbing.BlobObject, size: 8 << 20, z: zeros(8 << 20)}}, -1), 1 << 20, ErrPackTooLarge},
		{"4 billion objects said", craftPack([]rawObject{blob}, 1<<32-1), DefaultMaxPackBytes, nil},
		{"10,000 empty objects, room for fewer", craftPack(many, -1), 10000*packObjectOverhead - 1, ErrPackTooLarge},
		{"1.3 MB of zlib making nothing, 1 MiB allowed", craftPack([]rawObject{{t: plumbing.BlobObject, size: 0, z: emptyBlocks}}, -1), 1 << 20, ErrPackTooLarge},
	} {
		var err error
		alloc := allocatedBy(func() {
			err = storePack(newObjectStore(), struct{ io.Reader }{bytes.NewReader(c.pack)}, c.max)
		})
		if err == nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v; want %v", c.what, err, c.want)
		}
		if errors.Is(err, ErrPackTooLarge) && !strings.Contains(err.Error(), fmt.Sprint(c.max)) {
			t.Errorf("%s: %v does not name the limit", c.what, err)
		}
		if alloc > 8<<20 && !raceEnabled {
			t.Errorf("%s: %d bytes allocated", c.what, alloc)
		}
		t.Logf("%s: %d KiB allocated: %v", c.what, alloc>>10, err)
	}
}

// TestStorePackWithinBounds: the budget counts what a pack holds, not more: a pack fits in
// a budget of exactly its objects' sizes and overhead, and fails in one byte less.
func TestStorePackWithinBounds(t *testing.T) {
	pack, blobs := encodePack(t, 20, false)
	var need int64 = int64(len(pack))
	var objects int64
	for _, b := range blobs {
		objects += packObjectOverhead + int64(len(b))
	}
	// Deltas count their data and their result: find the least budget that works.
	lo, hi := objects, 4*need+objects
	if err := storePack(newObjectStore(), bytes.NewReader(pack), hi); err != nil {
		t.Fatalf("with %d bytes: %v", hi, err)
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if storePack(newObjectStore(), bytes.NewReader(pack), mid) == nil {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	err := storePack(newObjectStore(), bytes.NewReader(pack), lo-1)
	if !errors.Is(err, ErrPackTooLarge) {
		t.Errorf("with %d bytes, one less than the least that works: %v", lo-1, err)
	}
	t.Logf("a pack of %d bytes, %d objects of %d bytes with overhead, needs %d", len(pack), len(blobs), objects, lo)
}

// TestStorePackReferenceChain: reference deltas whose bases come later in the pack, each a
// delta on the next, are resolved at the pack's end, in one pass.
func TestStorePackReferenceChain(t *testing.T) {
	conts := [][]byte{[]byte("the quick brown fox jumps over the lazy dog\n")}
	for i := 1; i < 200; i++ {
		conts = append(conts, append(bytes.Clone(conts[i-1]), '!'))
	}
	objs := []rawObject{}
	for i := len(conts) - 1; i > 0; i-- { // conts[i] against conts[i-1], which comes after
		base := conts[i-1]
		objs = append(objs, rawObject{t: plumbing.REFDeltaObject, size: -1, ref: plumbing.ComputeHash(plumbing.BlobObject, base),
			data: deltaOf(uint64(len(base)), uint64(len(base)+1), 0x90, byte(len(base)), 1, '!')})
	}
	objs = append(objs, rawObject{t: plumbing.BlobObject, size: -1, data: conts[0]})
	s := newObjectStore()
	if err := storePack(s, bytes.NewReader(craftPack(objs, -1)), DefaultMaxPackBytes); err != nil {
		t.Fatal(err)
	}
	for _, c := range conts {
		if o, ok := s.objects[plumbing.ComputeHash(plumbing.BlobObject, c)]; !ok || !bytes.Equal(o.(*memObject).cont, c) {
			t.Fatalf("%d bytes: not stored", len(c))
		}
	}
}
