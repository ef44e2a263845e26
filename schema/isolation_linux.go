package schema

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
)

// limitMemory caps the process's address space at what it has reserved so far plus limit
// bytes: past it, allocation fails and the Go runtime exits with "out of memory". (A Go
// process reserves over a GiB of address space it never touches before it allocates
// anything, so the cap counts from there.)
func limitMemory(limit int64) error {
	if raceEnabled {
		return nil
	}
	base, err := addressSpace()
	if err != nil {
		return err
	}
	l := &syscall.Rlimit{Cur: uint64(base + limit), Max: uint64(base + limit)}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, l); err != nil {
		return fmt.Errorf("setting RLIMIT_AS to %d: %w", base+limit, err)
	}
	return nil
}

// addressSpace returns the process's virtual memory size (VmSize) in bytes.
func addressSpace() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("VmSize:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/self/status: VmSize %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/self/status has no VmSize")
}

// workerSysProcAttr makes the kernel kill a worker whose parent dies, so an agent killed
// hard leaves no evaluation behind (a worker also exits when its stdin closes).
func workerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// forker starts the workers from one goroutine locked to its OS thread for the life of
// the process. Linux sends a worker's Pdeathsig when the thread that forked it ends, not
// the process, and Go ends a thread whose goroutine exits while locked to it: forked from
// an ordinary goroutine, a worker could be killed by any later code that locks a thread
// and ends on it.
var forker struct {
	once sync.Once
	reqs chan forkRequest
}

// forkRequest is one process to start and where to answer.
type forkRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// startProcess starts cmd from the forker's thread.
func startProcess(cmd *exec.Cmd) error {
	forker.once.Do(func() {
		forker.reqs = make(chan forkRequest)
		go runForker(forker.reqs)
	})
	r := forkRequest{cmd: cmd, done: make(chan error, 1)}
	forker.reqs <- r
	return <-r.done
}

// runForker serves start requests on a thread it never gives back.
func runForker(reqs <-chan forkRequest) {
	runtime.LockOSThread() // never unlocked: this thread must outlive every worker
	for r := range reqs {
		r.done <- r.cmd.Start()
	}
}
