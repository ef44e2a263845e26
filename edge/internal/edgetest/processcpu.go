//go:build unix

package edgetest

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time of the process so far (user and system), less noisy than wall
// time on a loaded machine: benchmarks report it per operation.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
