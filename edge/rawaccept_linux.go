package edge

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/edgectl/edge/edge/internal/rawio"
	"github.com/edgectl/edge/edge/passthrough"
)

// rawListener accepts with accept4(2) itself while the snapshot has passthrough sites:
// each connection is then a passthrough.NewClientConn of its descriptor, which the early
// route (helloearly.go) reads, and hands to an event loop as it is when it names a
// passthrough site, without package net's getsockname, TCP_NODELAY setsockopt (the
// listening socket's is inherited), epoll add and remove, and the scheduler's entry
// around the accept and the close. Any other connection is made a *net.TCPConn
// (plainConn: a dup and package net's own system calls, a few microseconds) before it
// goes on. Without passthrough sites Accept is the TCP listener's.
type rawListener struct {
	*net.TCPListener
	file   *os.File // a duplicate of the listening socket: rc waits on it
	closed atomic.Bool
	rc     syscall.RawConn
	use    func() bool // accept raw now

	mu       sync.Mutex // one Accept at a time: the fields below are its
	acceptFn func(uintptr) bool
	fd       int
	peer     netip.AddrPort
	errno    syscall.Errno
}

// newRawListener returns ln accepting raw while use reports true; ln itself when it is
// not a TCP listener.
func newRawListener(ln net.Listener, use func() bool) net.Listener {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return ln
	}
	// The listener's own RawConn cannot wait (Read is EINVAL on listeners): a duplicate
	// of its descriptor as an *os.File can, registered with the poller.
	lrc, err := tl.SyscallConn()
	if err != nil {
		return ln
	}
	dup := -1
	lrc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		if r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0); e == 0 {
			dup = int(r)
		}
	})
	if dup < 0 {
		return ln
	}
	f := os.NewFile(uintptr(dup), "listener")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return ln
	}
	l := &rawListener{TCPListener: tl, file: f, rc: rc, use: use}
	l.acceptFn = l.accept
	return l
}

// Close closes the listener and its duplicate (the socket stays open while either is).
func (l *rawListener) Close() error {
	l.closed.Store(true)
	l.file.Close()
	return l.TCPListener.Close()
}

// Accept implements net.Listener.
func (l *rawListener) Accept() (net.Conn, error) {
	if !l.use() {
		return l.TCPListener.Accept()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fd, l.errno = -1, 0
	err := l.rc.Read(l.acceptFn)
	switch {
	case l.closed.Load():
		err = net.ErrClosed
	case err == nil && l.errno != 0:
		err = os.NewSyscallError("accept4", l.errno)
	}
	if err != nil {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: err}
	}
	return passthrough.NewClientConn(l.fd, l.peer), nil
}

// accept is the RawConn.Read callback: accept4 until a connection or an error (true),
// or none is waiting (false: the poller waits).
func (l *rawListener) accept(fd uintptr) bool {
	nfd, peer, e := passthrough.Accept4(int(fd))
	switch e {
	case 0:
		l.fd, l.peer = nfd, peer
		return true
	case syscall.EAGAIN:
		return false
	}
	l.errno = e
	return true
}

// plainConn returns c (as accepted, wrapped by the limit listener or not) with a
// connection of package net under it in place of a raw one, for the TLS handshake and
// HTTP; c is closed on failure.
func plainConn(c net.Conn) (net.Conn, error) {
	lc, limited := c.(*limitConn)
	inner := c
	if limited {
		inner = lc.Conn
	}
	nc, err := passthrough.TCPConn(inner)
	if err != nil {
		c.Close()
		return nil, err
	}
	if limited {
		lc.Conn, lc.w, lc.r = nc, rawio.New(nc), rawio.NewReader(nc)
		return lc, nil
	}
	return nc, nil
}
