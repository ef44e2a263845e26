package schema

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestWorkerOutlivesStartingThread starts a process with the workers' Pdeathsig from a
// goroutine that locks its thread and ends, which ends the thread: the process must live
// on (killed by the test's SIGTERM, not by the parent-death SIGKILL).
func TestWorkerOutlivesStartingThread(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = workerSysProcAttr()
	id, err := startOnEndingThread(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitThreadGone(t, id)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("wait: %v", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("worker ended with %v; want the test's SIGTERM (it was killed when the thread that started it ended)", ws)
	}
}

// startOnEndingThread starts cmd with startProcess from a goroutine that locks its thread
// and ends locked, which ends the thread, and returns the thread's id. The main thread is
// not ended that way (Go parks it), so a goroutine that finds itself there leaves it
// locked for good and another one tries.
func startOnEndingThread(cmd *exec.Cmd) (int, error) {
	type result struct {
		tid int
		err error
	}
	for {
		rc := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
			if tid := syscall.Gettid(); tid == os.Getpid() {
				rc <- result{tid: -1}
			} else {
				rc <- result{tid, startProcess(cmd)}
			}
		}()
		if r := <-rc; r.tid != -1 {
			return r.tid, r.err
		}
	}
}

// waitThreadGone waits until thread id of this process has ended (its exit sends the
// parent-death signals before its /proc entry goes).
func waitThreadGone(t *testing.T, id int) {
	t.Helper()
	path := fmt.Sprintf("/proc/self/task/%d", id)
	for i := 0; ; i++ {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return
		}
		if i == 6000 {
			t.Fatalf("thread %d did not end in a minute", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
