package edge

import (
	"fmt"
	"net/http"
	"runtime"
	"sync"

	"github.com/edgectl/edge/edge/internal/workers"
)

// HTTP/3 handlers run on reused goroutines.
//
// quic-go's HTTP/3 server starts a goroutine per request stream and calls the handler on
// it. That goroutine starts with the smallest stack, and the proxy's path is deeper than
// it holds: every HTTP/3 request grew its stack two or three times (runtime.newstack and
// copystack, about a tenth of the edge's CPU under h3load), where HTTP/2's handlers run on
// reused workers whose stacks have grown once (internal/h2srv's handlerWorkers). The
// handler here runs on an idle worker of h3Workers (a workers.Pool, as HTTP/2's), or a new
// one, while quic-go's goroutine waits for it, so the stack has grown already; the wait
// costs two goroutine switches. How the handler ends is carried back to quic-go's goroutine, which resets the
// stream as before: a panic is raised again there (http.ErrAbortHandler as it is, so
// nothing is logged; another value wrapped with the worker's stack, which quic-go's log
// would otherwise lack), and a runtime.Goexit ends it too (the worker ends with it). As
// with HTTP/2's workers, a handler runs with the pprof labels of the goroutine that
// started its worker (quic-go sets none).

// maxIdleH3Workers bounds the idle workers of h3Workers: a burst leaves at most that many
// parked goroutines behind.
const maxIdleH3Workers = 1024

// h3Workers is the process's pool of HTTP/3 handler goroutines.
var h3Workers = h3WorkerPool{pool: workers.Pool[h3Job]{Run: runH3Job, MaxIdle: maxIdleH3Workers}}

// h3Job is one request for a worker: the handler, its arguments, and where to report how
// it ended.
type h3Job struct {
	h    http.Handler
	w    http.ResponseWriter
	r    *http.Request
	done chan h3End
}

// h3End is how a worker's handler ended: returned, panicked (value p) or Goexit.
type h3End struct {
	p      any
	goexit bool
}

// h3WorkerPool runs HTTP/3 handlers on a workers.Pool and waits for them.
type h3WorkerPool struct {
	pool workers.Pool[h3Job]
	// dones holds the idle done channels (chan h3End, buffered, empty): one per handler
	// running, reused, so a request allocates none.
	dones sync.Pool
}

// serve runs h.ServeHTTP(w, r) on a worker and returns when it returns; it panics with the
// handler's panic value and calls runtime.Goexit if the handler did. If r's context is an
// h3ReqCtx, its hook is fired when the context ends while the handler runs.
func (p *h3WorkerPool) serve(h http.Handler, w http.ResponseWriter, r *http.Request) {
	done, _ := p.dones.Get().(chan h3End)
	if done == nil {
		done = make(chan h3End, 1)
	}
	p.pool.Start(h3Job{h: h, w: w, r: r, done: done})
	end := waitEnd(done, r)
	p.dones.Put(done)
	switch {
	case end.goexit:
		runtime.Goexit()
	case end.p != nil:
		panic(end.p)
	}
}

// waitEnd waits for the handler of r to report on done; if r's context is an h3ReqCtx
// and ends first, it fires the context's hook (what the handler registered with
// reqcancel.AfterFunc runs) and waits on.
func waitEnd(done <-chan h3End, r *http.Request) h3End {
	c, ok := r.Context().(*h3ReqCtx)
	if !ok {
		return <-done
	}
	select {
	case end := <-done:
		return end
	case <-c.Done():
		c.hook.Fire()
		return <-done
	}
}

// runH3Job runs j's handler and reports how it ended on j.done. A panic is recovered (the
// worker goes on); after runtime.Goexit the deferred report still runs, and the worker
// ends.
func runH3Job(j h3Job) {
	returned := false
	defer func() {
		if returned {
			j.done <- h3End{}
			return
		}
		v := recover()
		if v == nil { // runtime.Goexit: recover returns nil, the goroutine goes on ending
			j.done <- h3End{goexit: true}
			return
		}
		j.done <- h3End{p: handlerPanic(v)}
	}()
	j.h.ServeHTTP(j.w, j.r)
	returned = true
}

// handlerPanic is the value to panic with again on quic-go's goroutine for v, recovered
// on a worker: http.ErrAbortHandler as it is, another value with the worker's stack
// (quic-go logs the stack of the goroutine that recovers it, which shows only the wait).
func handlerPanic(v any) any {
	if v == http.ErrAbortHandler {
		return v
	}
	buf := make([]byte, 64<<10)
	return &workerPanic{v: v, stack: buf[:runtime.Stack(buf, false)]}
}

// workerPanic is a handler's panic value with the stack of the worker it panicked on.
type workerPanic struct {
	v     any
	stack []byte
}

// Error returns the value and the worker's stack.
func (e *workerPanic) Error() string {
	return fmt.Sprintf("%v\n\nhandler goroutine:\n%s", e.v, e.stack)
}

// Unwrap returns the value if it is an error.
func (e *workerPanic) Unwrap() error {
	err, _ := e.v.(error)
	return err
}
