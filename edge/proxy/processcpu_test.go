//go:build unix

package proxy

import (
	"syscall"
	"time"
)

// processCPU is the CPU time of the process so far (user and system), less noisy than
// wall time on a loaded machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
