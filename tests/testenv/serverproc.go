package testenv

import (
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// serverProc is a server process a test started on a loopback port: its command, its
// exit and its output.
type serverProc struct {
	name  string // for messages: "sshd", "git daemon"
	group bool   // Stop signals the process group (servers that fork per connection)
	cmd   *exec.Cmd
	done  chan struct{}
	log   SyncBuffer
}

// startOnFreePort starts the server on a free loopback port, up to three times (another
// process may take the port between the check and the bind): mk makes the command for a
// port, ready waits until the server answers on it. The server stops on t.Cleanup, its
// output logged. It returns the port.
func (p *serverProc) startOnFreePort(t testing.TB, mk func(port int) *exec.Cmd, ready func(addr string, exited <-chan struct{}) error) int {
	t.Helper()
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		if err := p.start(mk(port)); err != nil {
			t.Fatalf("testenv: start %s: %v", p.name, err)
		}
		err = ready(fmt.Sprintf("127.0.0.1:%d", port), p.done)
		if err == nil {
			t.Cleanup(func() {
				p.stop()
				if s := p.log.String(); s != "" {
					t.Logf("testenv: %s output:\n%s", p.name, s)
				}
			})
			return port
		}
		p.stop()
		if attempt == 2 {
			t.Fatalf("testenv: %s did not start: %v\n%s", p.name, err, p.log.String())
		}
	}
}

// start starts cmd in a process group of its own, its output in p.log.
func (p *serverProc) start(cmd *exec.Cmd) error {
	p.cmd = cmd
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(p.done) }()
	return nil
}

// stop stops the server (SIGTERM, then SIGKILL after 5s; to its process group if
// p.group). Stopping a stopped server does nothing.
func (p *serverProc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.signal(syscall.SIGKILL)
		<-p.done
	}
}

func (p *serverProc) signal(sig syscall.Signal) {
	if p.group {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
		return
	}
	_ = p.cmd.Process.Signal(sig)
}
