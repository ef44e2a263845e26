//go:build !linux

package schema

import (
	"os/exec"
	"syscall"
)

// limitMemory is a no-op where RLIMIT_AS is not reliable: the Go memory limit and the
// parent's deadline still bound the evaluation.
func limitMemory(limit int64) error { return nil }

// workerSysProcAttr: without Pdeathsig, a worker exits when its stdin closes.
func workerSysProcAttr() *syscall.SysProcAttr { return nil }

// startProcess starts cmd: without Pdeathsig, the forking thread does not matter.
func startProcess(cmd *exec.Cmd) error { return cmd.Start() }
