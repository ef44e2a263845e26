package edge

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/workers"
)

// newH3Pool returns a pool of HTTP/3 handler workers of the test's own.
func newH3Pool(maxIdle int) *h3WorkerPool {
	return &h3WorkerPool{pool: workers.Pool[h3Job]{Run: runH3Job, MaxIdle: maxIdle}}
}

// started returns how many workers p has started.
func started(p *h3WorkerPool) int { return p.pool.Started() }

// waitIdle waits until p has n idle workers (a worker parks just after its caller
// returns).
func waitIdle(t *testing.T, p *h3WorkerPool, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		idle := p.pool.Idle()
		if idle == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle workers; want %d", idle, n)
		}
	}
}

// servePool runs h on p as quic-go's goroutine would, on a goroutine of its own, and
// returns what the call ended with: the panic value, whether it returned, and whether the
// goroutine ended by runtime.Goexit.
func servePool(p *h3WorkerPool, h http.HandlerFunc) (panicked any, returned, goexit bool) {
	var wg sync.WaitGroup
	wg.Go(func() {
		recovered := false
		defer func() {
			if !returned && !recovered {
				goexit = true
			}
		}()
		defer func() {
			if v := recover(); v != nil {
				panicked, recovered = v, true
			}
		}()
		p.serve(h, httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		returned = true
	})
	wg.Wait()
	return panicked, returned, goexit
}

// TestH3WorkersReuse: handlers run on a worker that is parked after each one and taken for
// the next; at most maxIdle stay parked.
func TestH3WorkersReuse(t *testing.T) {
	p := newH3Pool(1)
	ran := 0
	for range 3 {
		if v, ok, _ := servePool(p, func(w http.ResponseWriter, _ *http.Request) {
			ran++
			io.WriteString(w, "ok")
		}); !ok || v != nil {
			t.Fatalf("serve: returned %v, panic %v", ok, v)
		}
		waitIdle(t, p, 1)
	}
	if ran != 3 || started(p) != 1 {
		t.Fatalf("ran %d handlers on %d workers; want 3 on 1", ran, started(p))
	}
	servePool(p, func(http.ResponseWriter, *http.Request) {})
	waitIdle(t, p, 1)
	if started(p) != 1 {
		t.Fatal("the idle worker was not reused")
	}

	// Two handlers at once need two workers; the pool keeps one.
	begun, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			servePool(p, func(http.ResponseWriter, *http.Request) {
				begun <- struct{}{}
				<-release
			})
		})
	}
	<-begun
	<-begun
	close(release)
	wg.Wait()
	waitIdle(t, p, 1)
	if started(p) != 2 {
		t.Fatalf("%d workers started; want 2", started(p))
	}
}

// TestH3WorkersPanic: a handler's panic is raised again on the caller's goroutine:
// http.ErrAbortHandler as it is (quic-go resets the stream without a log), another value
// with the worker's stack, and the worker goes back to the pool.
func TestH3WorkersPanic(t *testing.T) {
	p := newH3Pool(4)
	v, ok, _ := servePool(p, func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	if ok || v != http.ErrAbortHandler {
		t.Fatalf("abort: returned %v, panic %v; want http.ErrAbortHandler", ok, v)
	}
	waitIdle(t, p, 1)
	boom := errors.New("boom")
	v, ok, _ = servePool(p, func(http.ResponseWriter, *http.Request) { panicInHandler(boom) })
	err, isErr := v.(error)
	if ok || !isErr || !errors.Is(err, boom) {
		t.Fatalf("panic: returned %v, panic %v; want an error wrapping boom", ok, v)
	}
	waitIdle(t, p, 1)
	if msg := err.Error(); !strings.HasPrefix(msg, "boom\n") || !strings.Contains(msg, "panicInHandler") {
		t.Fatalf("panic value %q: want boom and the handler's stack", msg)
	}
	v, _, _ = servePool(p, func(http.ResponseWriter, *http.Request) { panic("text") })
	if err, _ := v.(error); err == nil || !strings.HasPrefix(err.Error(), "text\n") {
		t.Fatalf("panic(string): %v", v)
	}
	waitIdle(t, p, 1)
	if started(p) != 1 {
		t.Fatalf("%d workers started; want 1 (a worker goes back to the pool after a panic)", started(p))
	}
}

//go:noinline
func panicInHandler(err error) { panic(err) }

// TestH3WorkersGoexit: a handler that calls runtime.Goexit ends the caller's goroutine
// too (as it would have ended quic-go's), and its worker is not parked.
func TestH3WorkersGoexit(t *testing.T) {
	p := newH3Pool(4)
	v, ok, goexit := servePool(p, func(http.ResponseWriter, *http.Request) { runtime.Goexit() })
	if ok || v != nil || !goexit {
		t.Fatalf("Goexit: returned %v, panic %v, goexit %v; want goexit", ok, v, goexit)
	}
	if _, ok, _ := servePool(p, func(http.ResponseWriter, *http.Request) {}); !ok {
		t.Fatal("the pool does not serve after a Goexit")
	}
	waitIdle(t, p, 1)
	if started(p) != 2 {
		t.Fatalf("%d workers started; want 2 (the one that ran Goexit ended)", started(p))
	}
}

// deepStack uses about depth KiB of stack, as the proxy's path under a handler does.
//
//go:noinline
func deepStack(depth int) byte {
	var b [1000]byte
	b[depth%len(b)] = byte(depth)
	if depth == 0 {
		return b[0]
	}
	return deepStack(depth-1) + b[len(b)/2]
}

// BenchmarkH3Handler compares a handler that needs 16 KiB of stack run as quic-go runs
// it (on a new goroutine per request: "fresh") with the same handler handed to
// h3Workers from that goroutine ("worker"): the difference is the stack growth the pool
// saves against the two goroutine switches it costs.
func BenchmarkH3Handler(b *testing.B) {
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { deepStack(16) })
	r := httptest.NewRequest("GET", "/", nil)
	for _, tc := range []struct {
		name string
		run  func()
	}{
		{"fresh", func() { h(nil, r) }},
		{"worker", func() { h3Workers.serve(h, nil, r) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			done := make(chan struct{})
			b.ReportAllocs()
			for b.Loop() {
				go func() {
					tc.run()
					done <- struct{}{}
				}()
				<-done
			}
		})
	}
}
