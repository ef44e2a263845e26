// Package rawio reads from and writes to TCP sockets with read(2) and write(2) made as
// raw system calls (syscall.RawSyscall), which the Go scheduler does not see.
//
// Why: a write on loopback (edge and its upstream or load generator on one machine) runs
// the receiver's TCP processing and wakes it, tens of µs in the kernel; a read may send a
// window update and do the same. When a net.Conn call takes that long, the runtime's
// monitor (sysmon) hands the caller's P to another thread, waking one, and keeps itself
// at its shortest sleep: on every request, thread wake-ups and sleeps (voluntary context
// switches) an event loop making the same system calls would not make. A read or write
// on a non-blocking socket never blocks (it returns EAGAIN, and the caller then waits in
// the poller as net.Conn does), so it needs none of the scheduler's syscall bookkeeping.
//
// Only sockets whose descriptor is non-blocking (every socket the net package makes, as
// long as no one changed it) are used this way, and only on Linux; elsewhere New and
// NewReader return nil and callers use net.Conn's methods. Under the race detector the
// calls are syscall.Read and syscall.Write, whose happens-before annotations tests that
// synchronise through sockets rely on.
package rawio

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
)

// Writer writes to one connection: net.Conn's Write, with raw write system calls.
type Writer struct {
	conn net.Conn
	rc   syscall.RawConn

	mu      sync.Mutex // a Write at a time (net.Conn allows concurrent ones)
	step    func(fd uintptr) bool
	tryStep func(fd uintptr)
	p       []byte
	n       int
	err     error // the write system call's
}

// New returns a Writer for conn, or nil when conn is not a *net.TCPConn with a
// non-blocking descriptor, or off Linux.
func New(conn net.Conn) *Writer {
	rc := RawConn(conn)
	if rc == nil {
		return nil
	}
	w := &Writer{conn: conn, rc: rc}
	w.step = w.run // made once: RawConn.Write's argument escapes
	w.tryStep = w.try
	return w
}

// RawConn returns conn's syscall.RawConn when its writes may be raw (see New), else nil.
func RawConn(conn net.Conn) syscall.RawConn {
	tc, ok := conn.(*net.TCPConn)
	if !ok || !supported {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil || !nonBlocking(rc) {
		return nil
	}
	return rc
}

// Write writes p whole, waiting in the poller while the socket's buffer is full, within
// the connection's write deadline. Its errors are those of net.Conn's Write.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.p, w.n, w.err = p, 0, nil
	return w.result(w.rc.Write(w.step))
}

// run is RawConn.Write's function: write until p is written (true) or the socket is full
// (false: wait until writable).
func (w *Writer) run(fd uintptr) bool {
	for w.n < len(w.p) {
		m, err := Once(fd, w.p[w.n:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			w.err = err
			return true
		case m <= 0:
			w.err = syscall.EIO // write(2) returns > 0 for a non-empty buffer
			return true
		}
		w.n += m
	}
	return true
}

// OpError is the error net.Conn's Write returns for err on conn.
func OpError(conn net.Conn, err error) error {
	return opError("write", conn, err)
}

// opError is the *net.OpError net.Conn's op ("read", "write") gives for err.
func opError(op string, conn net.Conn, err error) error {
	return &net.OpError{Op: op, Net: conn.LocalAddr().Network(), Source: conn.LocalAddr(),
		Addr: conn.RemoteAddr(), Err: err}
}

// rawOpCause is the cause of an error of RawConn's Read or Write (a "raw-read" or
// "raw-write" *net.OpError), for an OpError that says "read" or "write" as net.Conn does.
func rawOpCause(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Err
	}
	return err
}

// TryWrite writes what of p the socket takes now, without waiting in the poller and
// without the connection's write deadline: the bytes written (fewer than len(p) when the
// socket's buffer is full) and the write system call's error, as net.Conn's Write gives it.
func (w *Writer) TryWrite(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.p, w.n, w.err = p, 0, nil
	return w.result(w.rc.Control(w.tryStep))
}

// result ends a write: the bytes written and, as net.Conn's Write gives it, the write
// system call's error or else err, that of the RawConn call.
func (w *Writer) result(err error) (int, error) {
	n, werr := w.n, w.err
	w.p, w.err = nil, nil
	if werr != nil {
		return n, OpError(w.conn, os.NewSyscallError("write", werr))
	}
	if err != nil {
		return n, OpError(w.conn, rawOpCause(err))
	}
	return n, nil
}

// try is TryWrite's step: run, whose false (the socket is full) ends the write here.
func (w *Writer) try(fd uintptr) { w.run(fd) }
