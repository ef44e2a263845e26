//go:build !unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"time"
)

// setProcessGroup does nothing on this platform.
func setProcessGroup(*exec.Cmd) {}

// stopProcessGroup kills the process pid and waits up to timeout for it to exit.
func stopProcessGroup(pid int, exited <-chan struct{}, timeout time.Duration) error {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill() //nolint:errcheck // waited below
	}
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("process %d did not exit", pid)
	}
}
