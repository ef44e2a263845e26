package pace

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// counting replaces yield with a counter for the test.
func counting(t *testing.T) *int {
	t.Helper()
	n := 0
	old := yield
	yield = func() { n++ }
	t.Cleanup(func() { yield = old })
	return &n
}

func TestTickerYieldsEveryEverySteps(t *testing.T) {
	n := counting(t)
	var tk Ticker
	for range Every - 1 {
		tk.Tick()
	}
	if *n != 0 {
		t.Fatalf("yielded %d times in %d steps; want 0", *n, Every-1)
	}
	tk.Tick()
	if *n != 1 {
		t.Fatalf("yielded %d times in %d steps; want 1", *n, Every)
	}
	for range 2 * Every {
		tk.Tick()
	}
	if *n != 3 {
		t.Fatalf("yielded %d times in %d steps; want 3", *n, 3*Every)
	}
}

func TestWriterPassesEveryByteAndYieldsPerChunk(t *testing.T) {
	n := counting(t)
	var buf bytes.Buffer
	p := bytes.Repeat([]byte("0123456789"), (2*WriterChunk+5)/10+1)
	w := &Writer{W: &buf}
	got, err := w.Write(p)
	if err != nil || got != len(p) || !bytes.Equal(buf.Bytes(), p) {
		t.Fatalf("Write = %d, %v; wrote %d bytes equal=%v; want %d, nil and the same bytes", got, err, buf.Len(), bytes.Equal(buf.Bytes(), p), len(p))
	}
	if want := len(p) / WriterChunk; *n != want {
		t.Fatalf("yielded %d times for %d bytes; want %d", *n, len(p), want)
	}
}

func TestWriterYieldsPerChunkOfSmallWrites(t *testing.T) {
	n := counting(t)
	w := &Writer{W: &bytes.Buffer{}}
	small := make([]byte, 100)
	total := 0
	for total+len(small) < WriterChunk {
		w.Write(small)
		total += len(small)
	}
	if *n != 0 {
		t.Fatalf("yielded %d times after %d bytes; want 0", *n, total)
	}
	w.Write(small)
	if *n != 1 {
		t.Fatalf("yielded %d times after %d bytes; want 1", *n, total+len(small))
	}
}

// failAfter accepts limit bytes, then fails.
type failAfter struct{ limit int }

var errFull = errors.New("full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n := f.limit
		f.limit = 0
		return n, errFull
	}
	f.limit -= len(p)
	return len(p), nil
}

func TestWriterStopsAtTheFirstError(t *testing.T) {
	counting(t)
	p := make([]byte, 3*WriterChunk)
	got, err := (&Writer{W: &failAfter{limit: WriterChunk + 10}}).Write(p)
	if !errors.Is(err, errFull) || got != WriterChunk+10 {
		t.Fatalf("Write = %d, %v; want %d, %v", got, err, WriterChunk+10, errFull)
	}
}

func TestWriterRestsPerChunkWhenAsked(t *testing.T) {
	yields := counting(t)
	var slept []time.Duration
	old := sleep
	sleep = func(d time.Duration) { slept = append(slept, d) }
	t.Cleanup(func() { sleep = old })
	var buf bytes.Buffer
	w := &Writer{W: &buf, Chunk: 1000, Rest: 3 * time.Millisecond}
	p := make([]byte, 2500)
	if n, err := w.Write(p); n != len(p) || err != nil || buf.Len() != len(p) {
		t.Fatalf("Write = %d, %v (wrote %d); want %d, nil", n, err, buf.Len(), len(p))
	}
	w.Write(p[:500]) // completes the third chunk
	if len(slept) != 3 || slept[0] != 3*time.Millisecond || *yields != 0 {
		t.Fatalf("slept %v and yielded %d times; want three sleeps of 3ms and no yield", slept, *yields)
	}
}
