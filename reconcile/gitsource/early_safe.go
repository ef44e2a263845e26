package gitsource

import (
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync/atomic"
)

// earlyPanics counts the panics recovered in early scans since the process started, the
// scanner's and EarlyBlobs.Func's (see EarlyPanics).
var earlyPanics atomic.Int64

// EarlyPanics returns how many panics the early scans of fetched packs (EarlyBlobs) have
// recovered since the process started: in the pack scanner, which ends that scan, or in
// EarlyBlobs.Func, which makes that blob a miss (the load checks it as it checks every blob
// not told of early). Each is logged, without the content.
func EarlyPanics() int64 { return earlyPanics.Load() }

// earlyGuard keeps one early scan's panics from ending the process: the scan reads a
// hostile pack on a goroutine of its own, where an unrecovered panic would end the agent.
type earlyGuard struct {
	log    *slog.Logger
	misses int // blobs whose Func panicked
}

// wrap returns fn made panic-safe: a blob whose call panics is a miss (the scan goes on).
func (g *earlyGuard) wrap(fn func(hash, content []byte) bool) func(hash, content []byte) bool {
	return func(hash, content []byte) (more bool) {
		defer func() {
			if p := recover(); p != nil {
				earlyPanics.Add(1)
				if g.misses++; g.misses == 1 {
					g.logPanic("git fetch: the early check of a blob panicked; the load checks it", p, "blob", fmt.Sprintf("%x", hash))
				}
				more = true
			}
		}()
		return fn(hash, content)
	}
}

// recoverScan, deferred by the scan's goroutine, recovers a panic of the scan itself (the
// pack scanner, a delta): the scan ends there, and the load does what it did not.
func (g *earlyGuard) recoverScan() {
	if p := recover(); p != nil {
		earlyPanics.Add(1)
		g.logPanic("git fetch: the early scan of the pack panicked; the load reads it", p)
	}
}

// report logs how many blobs of the scan were misses by a panic, past the first one logged.
func (g *earlyGuard) report() {
	if g.misses > 1 && g.log != nil {
		g.log.Warn("git fetch: early checks that panicked in this pack", "blobs", g.misses)
	}
}

// logPanic logs a recovered panic p with the stack, naming its type and, for a runtime
// error (an index out of range, a nil dereference), its message: never the value of
// another panic, which may quote the hostile content.
func (g *earlyGuard) logPanic(msg string, p any, args ...any) {
	if g.log == nil {
		return
	}
	what := fmt.Sprintf("%T", p)
	if re, ok := p.(runtime.Error); ok {
		what = re.Error()
	}
	g.log.Error(msg, append(args, "panic", what, "stack", string(debug.Stack()))...)
}
