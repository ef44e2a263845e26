package edge

import (
	"io"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// TestEncoderPool checks the idle encoders' pool: an encoder given back is reused (the
// most recent first), the pool keeps at most maxIdleEncoders, and trimming drops those
// idle for encoderIdleTimeout, keeping the others and the timer armed for them.
func TestEncoderPool(t *testing.T) {
	p := &encoderPool{newFn: func() encoder { return gzip.NewWriter(io.Discard) }}
	a := p.get()
	p.put(a)
	if b := p.get(); b != a || p.made != 1 {
		t.Fatalf("reuse: got a new encoder (made %d); want the one given back", p.made)
	}
	var encs []encoder
	for range maxIdleEncoders + 3 {
		encs = append(encs, p.get())
	}
	for _, e := range encs {
		p.put(e)
	}
	if n := p.idleCount(); n != maxIdleEncoders {
		t.Fatalf("%d idle after giving back %d; want the bound %d", n, len(encs), maxIdleEncoders)
	}
	if e := p.get(); e != encs[maxIdleEncoders-1] {
		t.Fatal("get did not return the most recently given back of those kept")
	}
	p.put(encs[maxIdleEncoders-1])

	p.mu.Lock()
	old := time.Now().Add(-2 * encoderIdleTimeout)
	for i := range p.idle[:2] {
		p.idle[i].since = old // the two at the bottom have been idle long
	}
	p.mu.Unlock()
	p.trim()
	p.mu.Lock()
	n, armed := len(p.idle), p.armed
	p.mu.Unlock()
	if n != maxIdleEncoders-2 || !armed {
		t.Fatalf("after trimming: %d idle, timer armed %v; want %d and armed", n, armed, maxIdleEncoders-2)
	}
	p.mu.Lock()
	p.dropIdleSince(time.Now().Add(time.Hour))
	p.mu.Unlock()
	p.trim()
	p.mu.Lock()
	n, armed = len(p.idle), p.armed
	p.mu.Unlock()
	if n != 0 || armed {
		t.Fatalf("after trimming every encoder: %d idle, armed %v; want 0, not armed", n, armed)
	}
}

// TestEncoderRelease checks when the memory of dropped encoders is given back: not while
// compression goes on, nor below releaseEncoderBytes, then once, then not again within
// releaseEncoderEvery, then again after it.
func TestEncoderRelease(t *testing.T) {
	stopped, freed := false, 0
	r := &encoderReleaser{stopped: func() bool { return stopped }, free: func() { freed++ }}
	t0 := time.Now()
	steps := []struct {
		what    string
		at      time.Duration
		n       int64
		stopped bool
		want    bool
	}{
		{"below the threshold", 0, releaseEncoderBytes / 2, true, false},
		{"compression goes on", 0, releaseEncoderBytes, false, false},
		{"stopped, enough dropped", time.Second, 0, true, true},
		{"again too soon", 2 * time.Second, releaseEncoderBytes, true, false},
		{"after the interval", releaseEncoderEvery + 2*time.Second, 0, true, true},
	}
	for _, s := range steps {
		stopped = s.stopped
		before := freed
		if got := r.droppedAt(t0.Add(s.at), s.n); got != s.want || (freed > before) != s.want {
			t.Fatalf("%s: released %v (freed %d times); want %v", s.what, got, freed-before, s.want)
		}
	}
	if freed != 2 {
		t.Fatalf("freed %d times; want 2", freed)
	}
}
