package h2srv

// edge: handler goroutines are reused (README.md, "Changes") on a workers.Pool
// (internal/workers).
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
	"time"

	"github.com/edgectl/edge/edge/internal/workers"
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

// handlerPool is a pool of handler goroutines.
type handlerPool = workers.Pool[handlerJob]

// handlerWorkers is the process's pool of handler goroutines.
var handlerWorkers = handlerPool{Run: runHandlerJob, MaxIdle: maxIdleHandlerWorkers}

// goRunHandler runs the handler on a worker of the pool (a new goroutine when none is
// idle): what `go sc.runHandler(rw, req, handler)` does upstream.
func (sc *serverConn) goRunHandler(rw *responseWriter, req *http.Request, handler func(http.ResponseWriter, *http.Request)) {
	j := handlerJob{sc: sc, rw: rw, req: req, handler: handler}
	if inSynctestBubble() {
		go runHandlerJob(j)
		return
	}
	sc.workers.Start(j)
}

// synctestEpoch is where the fake clock of a testing/synctest bubble starts.
var synctestEpoch = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// inSynctestBubble reports whether the calling goroutine is (very likely) in a
// testing/synctest bubble: its clock reads before 2001. A host clock that wrong only
// costs the pool.
func inSynctestBubble() bool { return time.Now().Before(synctestEpoch) }
