package testenv

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// StartProcess starts cmd, a server the test runs, with its output in out, and stops it
// when the test ends: SIGTERM, then SIGKILL if it has not exited within 10 s. The output is
// logged, under name, when the test failed. The returned channel is closed once the
// process has exited (so a caller waiting for it to answer can stop early).
func StartProcess(t testing.TB, name string, cmd *exec.Cmd, out *SyncBuffer) <-chan struct{} {
	t.Helper()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return exited
}
