// Package pace lets the long loops of a configuration swap give way to the goroutines that
// serve requests.
//
// A swap at 10,000 sites walks every site several times (the fetched tree, the objects to
// keep, the plan, the snapshot's entries), each walk a few milliseconds of CPU on one
// goroutine. Go preempts a goroutine only after 10 ms, so without a yield a walk holds its
// processor that long while the request goroutines queued behind it wait; with GOMAXPROCS
// at 2 that is half of the server. A Ticker yields (runtime.Gosched) every Every steps of
// such a walk, a Writer every WriterChunk bytes written (or sleeps, for a write that can
// wait): the queued goroutines run first and the walk goes on after them. When nothing
// waits, a yield costs well under a microsecond.
package pace

import (
	"io"
	"runtime"
	"time"
)

// Every is how many steps a Ticker takes between yields: a step of the walks it paces
// costs 0.1-1 µs, so a walk yields every 50-500 µs.
const Every = 512

// WriterChunk is how many bytes a Writer passes on between yields (about 50 µs of
// hashing and copying).
const WriterChunk = 64 << 10

// yield is runtime.Gosched and sleep time.Sleep; tests count the calls.
var (
	yield = runtime.Gosched
	sleep = time.Sleep
)

// Ticker counts the steps of a walk and yields every Every steps. The zero value is ready;
// it is not safe for concurrent use.
type Ticker struct{ n int }

// Tick counts one step, yielding the processor if it is the Every-th since the last yield.
func (t *Ticker) Tick() {
	t.n++
	if t.n >= Every {
		t.n = 0
		yield()
	}
}

// Writer passes writes on to W and gives way each time Chunk bytes have gone through since
// the last time: it yields the processor, or with Rest set sleeps that long, which also
// leaves the core to other processes (a background write then runs at a lower duty). A long
// write goes in pieces of at most Chunk bytes; many small writes (a state file's records)
// give way as seldom as one large one. It is not safe for concurrent use.
type Writer struct {
	W     io.Writer
	Chunk int           // bytes between pauses; 0 means WriterChunk
	Rest  time.Duration // each pause sleeps this long; 0 means a yield
	n     int           // bytes since the last pause
}

// Write writes p to w.W.
func (w *Writer) Write(p []byte) (int, error) {
	chunk := w.Chunk
	if chunk <= 0 {
		chunk = WriterChunk
	}
	done := 0
	for len(p) > 0 {
		n := min(len(p), max(chunk-w.n, 1))
		m, err := w.W.Write(p[:n])
		done += m
		if err != nil {
			return done, err
		}
		p = p[n:]
		if w.n += n; w.n >= chunk {
			w.n = 0
			w.pause()
		}
	}
	return done, nil
}

// pause gives way: a yield, or a sleep of w.Rest.
func (w *Writer) pause() {
	if w.Rest > 0 {
		sleep(w.Rest)
		return
	}
	yield()
}
