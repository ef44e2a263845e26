package h2srv

// edge: handler goroutines are reused (README.md, "Changes").
//
// Upstream starts a goroutine per stream (`go sc.runHandler(...)`): a new g, its stack
// from the cache, and a closure for the arguments. Here a stream's handler runs on an
// idle worker when there is one: a goroutine that ran an earlier handler and waits for
// the next. The pool is global (one for every connection and Server in the process) and
// holds at most maxIdleHandlerWorkers idle workers; a worker that finds it full exits,
// so a burst leaves at most that many parked goroutines behind (a few KiB of stack
// each). What a goroutine carries is not reset between handlers, so:
//
//   - pprof labels are those of the goroutine that started the worker (a serve
//     goroutine, which sets none) plus whatever a handler set with pprof.SetGoroutineLabels
//     and did not undo; runtime/trace tasks and regions end with the handler as before,
//     but a trace shows handlers of different connections on the same goroutine;
//   - a handler that calls runtime.Goexit ends its worker (the worker is not in the pool
//     while it runs, so nothing is lost but the goroutine); a panic is recovered by
//     runHandler as upstream, and the worker goes back to the pool;
//   - goroutines in a testing/synctest bubble belong to the bubble, so a worker must not
//     cross it: inside a bubble (its fake clock starts at 2000-01-01 UTC) each handler
//     gets a plain goroutine of its own, as upstream.

import (
	"net/http"
	"sync"
	"time"
)

// maxIdleHandlerWorkers bounds the idle workers of handlerWorkers.
const maxIdleHandlerWorkers = 1024

// handlerJob is one stream's handler, as runHandler takes it.
type handlerJob struct {
	sc      *serverConn
	rw      *responseWriter
	req     *http.Request
	handler func(http.ResponseWriter, *http.Request)
}

func runHandlerJob(j handlerJob) { j.sc.runHandler(j.rw, j.req, j.handler) }

// handlerWorkers is the process's pool of handler goroutines.
var handlerWorkers = workerPool[handlerJob]{run: runHandlerJob, maxIdle: maxIdleHandlerWorkers}

// goRunHandler runs the handler on a worker of the pool (a new goroutine when none is
// idle): what `go sc.runHandler(rw, req, handler)` does upstream.
func (sc *serverConn) goRunHandler(rw *responseWriter, req *http.Request, handler func(http.ResponseWriter, *http.Request)) {
	j := handlerJob{sc: sc, rw: rw, req: req, handler: handler}
	if inSynctestBubble() {
		go runHandlerJob(j)
		return
	}
	sc.workers.start(j)
}

// synctestEpoch is where the fake clock of a testing/synctest bubble starts.
var synctestEpoch = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// inSynctestBubble reports whether the calling goroutine is (very likely) in a
// testing/synctest bubble: its clock reads before 2001. A host clock that wrong only
// costs the pool.
func inSynctestBubble() bool { return time.Now().Before(synctestEpoch) }

// workerPool runs jobs on reused goroutines: at most maxIdle wait for a job.
type workerPool[J any] struct {
	run     func(J)
	maxIdle int

	mu   sync.Mutex
	idle []chan J // LIFO: the most recently idle worker (warmest stack) first
}

// start runs j on an idle worker, or on a new one.
func (p *workerPool[J]) start(j J) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		ch := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		ch <- j // buffered: never blocks, the worker is waiting or about to
		return
	}
	p.mu.Unlock()
	go p.work(j)
}

// work runs j, then waits in the pool for the next job, or exits when the pool is full.
func (p *workerPool[J]) work(j J) {
	var ch chan J
	for {
		p.run(j)
		var zero J
		j = zero // do not retain the last job's request while idle
		if ch == nil {
			ch = make(chan J, 1)
		}
		if !p.park(ch) {
			return
		}
		j = <-ch
	}
}

// park puts ch in the idle list and reports whether there was room.
func (p *workerPool[J]) park(ch chan J) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= p.maxIdle {
		return false
	}
	p.idle = append(p.idle, ch)
	return true
}

// idleWorkers returns the number of idle workers.
func (p *workerPool[J]) idleWorkers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
