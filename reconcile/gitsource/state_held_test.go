package gitsource

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// blobStore returns a store of n blobs of size bytes each (distinct contents) and their
// hashes.
func blobStore(n, size int) (*objectStore, []plumbing.Hash) {
	s := newObjectStore()
	hashes := make([]plumbing.Hash, 0, n)
	for i := range n {
		b := bytes.Repeat([]byte{'x'}, size)
		copy(b, fmt.Sprintf("%d:", i))
		o := &memObject{t: plumbing.BlobObject, sz: int64(size), cont: b}
		s.objects[o.Hash()] = o
		hashes = append(hashes, o.Hash())
	}
	return s, hashes
}

// TestStateRecordLen: the record length the state file's bookkeeping computes from an
// object's size is what writeStateObjects writes for it, across the uvarint's widths.
func TestStateRecordLen(t *testing.T) {
	for _, size := range []int{0, 1, 127, 128, 16383, 16384, 70000} {
		objs, hashes := blobStore(1, size)
		var with, without bytes.Buffer
		if err := writeStateObjects(&with, objs, hashes); err != nil {
			t.Fatal(err)
		}
		if err := writeStateObjects(&without, newObjectStore(), nil); err != nil {
			t.Fatal(err)
		}
		if got, want := stateRecordLen(int64(size)), int64(with.Len()-without.Len()); got != want {
			t.Errorf("size %d: stateRecordLen %d, written %d", size, got, want)
		}
	}
}

// BenchmarkRestoreStateHeap restores a state file of 20,000 blobs (the shape of 10,000
// sites: a site file and a certificate each) and reports the live heap the restored
// objects and the bookkeeping of what the file holds take.
func BenchmarkRestoreStateHeap(b *testing.B) {
	dir := b.TempDir()
	small, hs := blobStore(10000, 230)
	large, hl := blobStore(10000, 1300)
	for h, o := range large.objects {
		small.objects[h] = o
	}
	if _, err := writeStateFile(dir, stateHeader{Source: "bench"}, small, append(hs, hl...)); err != nil {
		b.Fatal(err)
	}
	small, large = nil, nil
	var ms runtime.MemStats
	var live float64
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		_, store, held, err := readStateFileHeld(dir)
		if err != nil {
			b.Fatal(err)
		}
		if store.len() != 20000 || len(held.objs) != 20000 {
			b.Fatalf("restored %d objects, %d held; want 20,000", store.len(), len(held.objs))
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		live = float64(ms.HeapAlloc-before) / (1 << 20)
		runtime.KeepAlive(store)
		runtime.KeepAlive(held)
	}
	b.ReportMetric(live, "MiB-live")
}
