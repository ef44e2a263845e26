package edge

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// benchText is about 100 KiB of HTML-like text, as tests/bench/compress.sh's backend sends.
var benchText = func() []byte {
	var b strings.Builder
	for i := 0; b.Len() < 100<<10; i++ {
		fmt.Fprintf(&b, "<li class=\"item-%d\"><a href=\"/products/%d\">Product %d</a> <span>%d.%02d EUR</span></li>\n", i%7, i, i, i*37%1000, i%100)
	}
	return []byte(b.String())
}()

// BenchmarkEncoderReuse compresses a 100 KiB text with an encoder from the pool, as one
// response does: allocations per op show what reuse leaves to the garbage collector, and
// "heapB/new" the heap one new encoder of the coding takes once it has compressed.
func BenchmarkEncoderReuse(b *testing.B) {
	for _, coding := range []string{"gzip", "br", "zstd"} {
		b.Run(coding, func(b *testing.B) {
			heap := newEncoderHeap(coding)
			b.SetBytes(int64(len(benchText)))
			b.ReportAllocs()
			for b.Loop() {
				e := getEncoder(coding, io.Discard)
				if e == nil {
					b.Fatal("no encoder")
				}
				if _, err := e.Write(benchText); err != nil {
					b.Fatal(err)
				}
				if err := e.Close(); err != nil {
					b.Fatal(err)
				}
				putEncoder(coding, e)
			}
			b.ReportMetric(float64(heap), "heapB/new")
		})
	}
}

// newEncoderHeap returns the heap taken by 8 new encoders of coding, each having
// compressed benchText, divided by 8.
func newEncoderHeap(coding string) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	encs := make([]encoder, 8)
	for i := range encs {
		encs[i] = newEncoder(coding)
		encs[i].Reset(io.Discard)
		_, _ = encs[i].Write(benchText)
		_ = encs[i].Close()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(encs)
	return (after.HeapAlloc - before.HeapAlloc) / uint64(len(encs))
}
