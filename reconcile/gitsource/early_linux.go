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
// goroutine must end without unlocking: its thread then ends with it, so no other
// goroutine runs at that priority.
func lowerPriority() {
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), earlyNice) // best effort
}
