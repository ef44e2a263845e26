//go:build unix

package main

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// setProcessGroup puts the child in its own process group, so stopping it stops whatever
// it started too, and a Ctrl-C in the terminal reaches only the demo, which stops it in order.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopProcessGroup sends SIGTERM to the process group pid, waits up to timeout for the
// leader to exit (exited closes), then SIGKILLs the group.
func stopProcessGroup(pid int, exited <-chan struct{}, timeout time.Duration) error {
	if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop process group %d: %w", pid, err)
	}
	select {
	case <-exited:
		syscall.Kill(-pid, syscall.SIGKILL) //nolint:errcheck // stragglers of the group, if any
		return nil
	case <-time.After(timeout):
	}
	syscall.Kill(-pid, syscall.SIGKILL) //nolint:errcheck // best effort; waited below
	select {
	case <-exited:
		return nil
	case <-time.After(2 * time.Second):
		return fmt.Errorf("process %d did not exit", pid)
	}
}
