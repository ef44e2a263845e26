package passthrough

import (
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// upConn is an upstream connection opened by openFast: a TCP socket registered with the
// runtime poller through an *os.File (the one public way without the system calls of
// net.Dialer), with the net.Conn methods Pipe and the passthrough use.
type upConn struct {
	f      *os.File
	ap     netip.AddrPort // the upstream's address
	closed atomic.Bool
}

// Read implements net.Conn.
func (c *upConn) Read(p []byte) (int, error) { return c.f.Read(p) }

// Write implements net.Conn.
func (c *upConn) Write(p []byte) (int, error) { return c.f.Write(p) }

// Close implements net.Conn.
func (c *upConn) Close() error {
	c.closed.Store(true)
	return c.f.Close()
}

// CloseWrite shuts down the sending side (a TCP half-close).
func (c *upConn) CloseWrite() error {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Shutdown(int(fd), syscall.SHUT_WR) }); err != nil {
		return err
	}
	return os.NewSyscallError("shutdown", serr)
}

// LocalAddr implements net.Conn (getsockname(2) on demand).
func (c *upConn) LocalAddr() net.Addr {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return nil
	}
	var sa syscall.Sockaddr
	rc.Control(func(fd uintptr) { sa, _ = syscall.Getsockname(int(fd)) })
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
func (c *upConn) SetDeadline(t time.Time) error { return c.f.SetDeadline(t) }

// SetReadDeadline implements net.Conn.
func (c *upConn) SetReadDeadline(t time.Time) error { return c.f.SetReadDeadline(t) }

// SetWriteDeadline implements net.Conn.
func (c *upConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }

// SyscallConn implements syscall.Conn, for splice(2). Once the connection is closed, its
// errors are net.ErrClosed, as a net.Conn's.
func (c *upConn) SyscallConn() (syscall.RawConn, error) {
	rc, err := c.f.SyscallConn()
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
