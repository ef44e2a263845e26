package h2srv

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// newHandlerPool returns a pool of handler workers of the test's own (the global one's
// idle count moves with other tests' workers parking late).
func newHandlerPool() *handlerPool {
	return &handlerPool{Run: runHandlerJob, MaxIdle: maxIdleHandlerWorkers}
}

// TestHandlerWorkersReused: sequential requests on a real connection run on the same
// goroutine once its worker is back in the pool (LIFO), a panicking handler's worker
// included: the panic is recovered, the client sees the stream reset, and the worker
// serves the next request.
func TestHandlerWorkersReused(t *testing.T) {
	var gid atomic.Uint64
	pool := newHandlerPool()
	p := newPipeConn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gid.Store(curGoroutineID())
		if r.URL.Path == "/panic" {
			panic("handler panic (expected by the test)")
		}
		w.Write([]byte(strconv.FormatUint(curGoroutineID(), 10)))
	}), pool)
	var first uint64
	for i, path := range []string{"/a", "/b", "/panic", "/c", "/panic", "/d"} {
		code, body, err := p.get(path)
		if path == "/panic" {
			if err == nil {
				t.Fatalf("%s: %d %q, want the stream reset", path, code, body)
			}
		} else if err != nil || code != 200 || body != strconv.FormatUint(gid.Load(), 10) {
			t.Fatalf("%s: %d %q %v", path, code, body, err)
		}
		if i == 0 {
			first = gid.Load()
		} else if g := gid.Load(); g != first {
			t.Fatalf("request %d (%s) ran on goroutine %d, want the reused worker %d", i, path, g, first)
		}
		waitFor(t, "the handler's worker back in the pool", func() bool { return pool.Idle() == 1 })
	}
}

// TestHandlerWorkersSynctest: in a synctest bubble, a request on a real serve loop runs
// its handler on a plain goroutine (no worker of the pool enters or leaves the bubble),
// and the bubble ends with no goroutine left.
func TestHandlerWorkersSynctest(t *testing.T) {
	if inSynctestBubble() {
		t.Fatal("outside a bubble: inSynctestBubble is true")
	}
	pool := newHandlerPool()
	synctest.Test(t, func(t *testing.T) {
		if !inSynctestBubble() {
			t.Fatal("in a bubble: inSynctestBubble is false")
		}
		p := newPipeConn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }), pool)
		if code, body, err := p.get("/"); err != nil || code != 200 || body != "ok" {
			t.Fatalf("GET: %d %q %v", code, body, err)
		}
	})
	if n := pool.Idle(); n != 0 {
		t.Errorf("%d idle workers after a bubble, want none", n)
	}
}
