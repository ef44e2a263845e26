package passthrough

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// upConn is an upstream connection opened by openFast: a non-blocking TCP socket. An
// event loop (Start) uses the descriptor as it is; the first method that may wait wraps
// it in an *os.File, which registers it with the runtime poller (the one public way
// without the system calls of net.Dialer). A connection that never needs the poller
// costs none of its system calls (fcntl, and epoll_ctl to add and remove).
type upConn struct {
	fd     int
	ap     netip.AddrPort // the upstream's address (the client's, for an accepted one)
	home   *loop          // the loop that accepted it (Start registers it there); nil: none
	once   sync.Once
	f      *os.File // made by file; nil when closed first
	closed atomic.Bool
	made   atomic.Bool // once has run: f is made, or never will be
}

// file returns the connection's *os.File, made on first use; nil once closed.
func (c *upConn) file() *os.File {
	c.once.Do(func() {
		c.made.Store(true)
		if !c.closed.Load() {
			c.f = os.NewFile(uintptr(c.fd), "tcp") // non-blocking: registered with the poller
		}
	})
	return c.f
}

// rawFD returns the socket's descriptor while no *os.File has it, without deciding (as
// loopFD does) that none ever will. For the goroutine that owns the connection.
func (c *upConn) rawFD() (int, bool) {
	return c.fd, !c.made.Load() && !c.closed.Load()
}

// loopFD returns the socket's descriptor for an event loop, while no *os.File has it.
func (c *upConn) loopFD() (int, bool) {
	made := true
	c.once.Do(func() { made = false; c.made.Store(true) })
	return c.fd, !made && !c.closed.Load()
}

// Read implements net.Conn.
func (c *upConn) Read(p []byte) (int, error) {
	if f := c.file(); f != nil {
		return f.Read(p)
	}
	return 0, net.ErrClosed
}

// Write implements net.Conn.
func (c *upConn) Write(p []byte) (int, error) {
	if f := c.file(); f != nil {
		return f.Write(p)
	}
	return 0, net.ErrClosed
}

// Close implements net.Conn.
func (c *upConn) Close() error {
	if c.closed.Swap(true) {
		return net.ErrClosed
	}
	c.once.Do(func() { c.made.Store(true) })
	if c.f != nil {
		return c.f.Close()
	}
	_, _, e := syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(c.fd), 0, 0)
	if e != 0 {
		return os.NewSyscallError("close", e)
	}
	return nil
}

// CloseWrite shuts down the sending side (a TCP half-close).
func (c *upConn) CloseWrite() error {
	f := c.file()
	if f == nil {
		return net.ErrClosed
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Shutdown(int(fd), syscall.SHUT_WR) }); err != nil {
		return err
	}
	return os.NewSyscallError("shutdown", serr)
}

// LocalAddr implements net.Conn (getsockname(2) on demand, without the poller while
// nothing has waited).
func (c *upConn) LocalAddr() net.Addr {
	var sa syscall.Sockaddr
	if fd, raw := c.rawFD(); raw {
		sa, _ = syscall.Getsockname(fd)
	} else if f := c.file(); f != nil {
		rc, err := f.SyscallConn()
		if err != nil {
			return nil
		}
		rc.Control(func(fd uintptr) { sa, _ = syscall.Getsockname(int(fd)) })
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
	}
	return nil
}

// RemoteAddr implements net.Conn.
func (c *upConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.ap) }

// SetDeadline implements net.Conn.
func (c *upConn) SetDeadline(t time.Time) error { return c.deadline(t, (*os.File).SetDeadline) }

// SetReadDeadline implements net.Conn.
func (c *upConn) SetReadDeadline(t time.Time) error { return c.deadline(t, (*os.File).SetReadDeadline) }

// SetWriteDeadline implements net.Conn.
func (c *upConn) SetWriteDeadline(t time.Time) error {
	return c.deadline(t, (*os.File).SetWriteDeadline)
}

func (c *upConn) deadline(t time.Time, set func(*os.File, time.Time) error) error {
	if t.IsZero() {
		if _, raw := c.rawFD(); raw {
			return nil // no deadline to clear: nothing has waited yet (an event loop may take it)
		}
	}
	if f := c.file(); f != nil {
		return set(f, t)
	}
	return net.ErrClosed
}

// SyscallConn implements syscall.Conn, for splice(2). Once the connection is closed, its
// errors are net.ErrClosed, as a net.Conn's.
func (c *upConn) SyscallConn() (syscall.RawConn, error) {
	f := c.file()
	if f == nil {
		return nil, net.ErrClosed
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	return closedRaw{rc, c}, nil
}

// closedRaw maps the errors of a closed upConn's RawConn to net.ErrClosed.
type closedRaw struct {
	syscall.RawConn
	c *upConn
}

func (r closedRaw) Read(f func(uintptr) bool) error  { return r.c.mapErr(r.RawConn.Read(f)) }
func (r closedRaw) Write(f func(uintptr) bool) error { return r.c.mapErr(r.RawConn.Write(f)) }

func (c *upConn) mapErr(err error) error {
	if err != nil && c.closed.Load() {
		return net.ErrClosed
	}
	return err
}
