package passthrough

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loopRetry is how long a loop that could not be made, or failed, stays unmade: its
// share of the connections uses Pipe meanwhile.
const loopRetry = time.Second

// loopSet is the event loops, GOMAXPROCS of them (loopCount), made on first use and
// made again (after loopRetry) when they could not be made or failed.
var loopSet struct {
	once    sync.Once
	slots   []atomic.Pointer[loop]
	retryAt []atomic.Int64 // Unix ns before which slot i is not made again
	next    atomic.Uint32
	making  sync.Mutex // held while a loop is made; guards fault
	fault   func() error
}

// pickLoop returns the next loop, round robin, making it when it is not made yet, or
// failed at least loopRetry ago; nil when it cannot be had now: the caller uses Pipe.
func pickLoop() *loop {
	loopSet.once.Do(func() {
		n := loopCount
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		loopSet.slots = make([]atomic.Pointer[loop], n)
		loopSet.retryAt = make([]atomic.Int64, n)
	})
	i := int(loopSet.next.Add(1) % uint32(len(loopSet.slots)))
	return liveLoop(i)
}

// loopCount is the number of loops; 0: GOMAXPROCS. Tests set it before any loop is made
// (TestMain), so that several loops take turns at accepting on any machine.
var loopCount int

// nextLoop returns the first loop after loop i (in slot order, wrapping around) that can
// be had now, made if need be; nil when none can (a listener moving on stays then).
// Called by a loop: the set is sized.
func nextLoop(i int) *loop {
	n := len(loopSet.slots)
	for k := 1; k < n; k++ {
		if l := liveLoop((i + k) % n); l != nil {
			return l
		}
	}
	return nil
}

// liveLoop returns the loop of slot i, made when it is not made yet, or failed at least
// loopRetry ago; nil when it cannot be had now.
func liveLoop(i int) *loop {
	if l := loopSet.slots[i].Load(); l != nil && !l.dead.Load() {
		return l
	}
	return makeLoop(i)
}

// makeLoop makes the loop of slot i and starts it, unless it failed less than loopRetry
// ago or another goroutine is making a loop (nil then).
func makeLoop(i int) *loop {
	if time.Now().UnixNano() < loopSet.retryAt[i].Load() || !loopSet.making.TryLock() {
		return nil
	}
	defer loopSet.making.Unlock()
	if l := loopSet.slots[i].Load(); l != nil && !l.dead.Load() {
		return l
	}
	if time.Now().UnixNano() < loopSet.retryAt[i].Load() {
		return nil
	}
	l, err := newLoop(i)
	if err != nil {
		loopSet.retryAt[i].Store(time.Now().Add(loopRetry).UnixNano())
		logWarn("passthrough: no event loop; connections use goroutines, retried in a second",
			slog.Int("loop", i), slog.Any("error", err))
		return nil
	}
	loopSet.slots[i].Store(l)
	go l.run()
	return l
}

// loopFailed holds slot i's next loop back for loopRetry.
func loopFailed(i int) {
	loopSet.retryAt[i].Store(time.Now().Add(loopRetry).UnixNano())
}

// loopFault returns the error a test injects into making a loop (nil: none). Called
// with loopSet.making held.
func loopFault() error {
	if loopSet.fault == nil {
		return nil
	}
	return loopSet.fault()
}

// loopTestHooks are called in tests: event for each event of a connection, registered
// when a socket of a connection has been added to epoll (by Start's goroutine, under the
// loop's mutex), splice before each splice(2) or read(2) of a connection's bytes, fill
// with the pipe or buffer read into and the outcome of each such read, armed when output
// is added to a socket's registration (armOut), moved when a loop moved a listener on to
// the next one (moveAcceptor). All but registered are called by the loop's goroutine. Nil fields are not called; loopHooks is nil outside tests.
type loopTestHooks struct {
	event      func(*lconn)
	registered func(c *lconn, side int)
	splice     func(*loop)
	fill       func(p *pipe, n int, err syscall.Errno)
	armed      func(c *lconn, side int)
	moved      func(from, to *loop)
}

var loopHooks atomic.Pointer[loopTestHooks]
