package gitsource

import (
	"runtime"
	"syscall"
)

// earlyNice is the scheduling priority (nice value) of the thread scanning a pack early:
// the scan is work done ahead, on an idle core; where no core is idle it must not slow
// the fetch it runs beside (the packfile parser, and a local repo's git upload-pack).
const earlyNice = 10

// lowerPriority runs the calling goroutine on a thread of its own at earlyNice. The
// goroutine must end without unlocking: its thread then ends with it (or, if it is the
// process's main thread, Go parks it for good), so no other goroutine runs at that
// priority.
//
// Why the thread trick is safe:
//   - A thread ending kills the processes forked from it that asked for a Pdeathsig. The
//     schema's evaluation workers are all forked from one thread locked for the life of
//     the process (schema startProcess), and the scan forks nothing.
//   - Threads the runtime creates while this one runs do not inherit its priority: a new
//     thread asked for on a thread locked with LockOSThread is cloned by the runtime's
//     template thread (runtime.newm), which LockOSThread starts before it locks, so from
//     a thread never lowered here (TestEarlyThreadsKeepPriority).
//
// What it costs: while the scan runs it holds one of the process's Ps. Where every core is
// busy, a stop-the-world (a GC phase) waits for this thread to be scheduled to reach a safe
// point, a few milliseconds at most under the kernel's fair scheduler; and the scan's own
// work then mostly does not get done before the load (which does it itself).
func lowerPriority() {
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), earlyNice) // best effort
}
