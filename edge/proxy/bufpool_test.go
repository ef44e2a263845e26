package proxy

import "testing"

func TestBufPool(t *testing.T) {
	b := copyBuffers.Get()
	if len(b) != 32<<10 {
		t.Fatalf("len %d; want 32 KiB", len(b))
	}
	copyBuffers.Put(b[:10])
	if b2 := copyBuffers.Get(); len(b2) != 32<<10 {
		t.Fatalf("after Put of a resliced buffer: len %d; want 32 KiB", len(b2))
	}
	copyBuffers.Put(make([]byte, 5)) // foreign sizes are dropped, not pooled
	if b3 := copyBuffers.Get(); len(b3) != 32<<10 {
		t.Fatalf("len %d; want 32 KiB", len(b3))
	}
}

// BenchmarkBufPool: one Get and Put, as ReverseProxy does per body copied (0 allocs/op).
func BenchmarkBufPool(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		copyBuffers.Put(copyBuffers.Get())
	}
}
