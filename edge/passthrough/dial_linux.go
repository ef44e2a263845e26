package passthrough

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// openFastLinux connects to the literal address ap and writes first, the connection's first
// bytes, as one step: a non-blocking connect(2), then write(2) until first is written.
// A write on a socket still connecting fails with EAGAIN, and waits for the socket to be
// writable, which is when the connection is established; a refused or reset connection
// fails the write with the connect's error. So the connect's outcome needs none of the
// system calls net.Dialer makes after connecting (getsockopt(SO_ERROR), getpeername,
// getsockname), and none of its address resolution. On loopback and fast networks the
// connection is usually established when connect returns, and the first write succeeds
// without waiting. Waiting is bounded by timeout and by ctx.
//
// The socket is TCP_NODELAY like net.Dialer's, without keep-alive (the idle timeout
// governs). A connection that failed may have been established (written is then > 0
// only if part of first went out).
func openFastLinux(ctx context.Context, ap netip.AddrPort, timeout time.Duration, first []byte) (c net.Conn, written int, err error) {
	c, written, err = tryFastLinux(ap, first)
	if err != nil || written == len(first) {
		return c, written, err
	}
	return finishFastLinux(ctx, c, timeout, first, written)
}

// tryFastLinux is openFastLinux without waiting: it returns once first is written, the
// socket is full, or the connection is still being established (written < len(first)
// then: finishFastLinux goes on). On failure the socket is closed and c is nil.
func tryFastLinux(ap netip.AddrPort, first []byte) (c net.Conn, written int, err error) {
	addr := ap.Addr().Unmap()
	family, sa := syscall.AF_INET6, syscall.Sockaddr(&syscall.SockaddrInet6{Port: int(ap.Port()), Addr: addr.As16()})
	if addr.Is4() {
		family, sa = syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: addr.As4()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, 0, os.NewSyscallError("socket", err)
	}
	if err := rawSetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != 0 {
		syscall.Close(fd)
		return nil, 0, os.NewSyscallError("setsockopt", err)
	}
	if err := connectNB(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, 0, os.NewSyscallError("connect", err)
	}
	uc := &upConn{fd: fd, ap: ap}
	written, err = uc.writeNow(first, 0)
	if err != nil {
		uc.Close()
		return nil, written, fmt.Errorf("connect %s: %w", ap, err)
	}
	return uc, written, nil
}

// finishFastLinux writes the rest of first to c (made by tryFastLinux, written bytes of
// first out), waiting up to timeout or until ctx is done; on failure c is closed.
func finishFastLinux(ctx context.Context, c net.Conn, timeout time.Duration, first []byte, written int) (net.Conn, int, error) {
	uc := c.(*upConn)
	written, err := uc.writeFirst(ctx, timeout, first, written)
	if err != nil {
		uc.Close()
		return nil, written, fmt.Errorf("connect %s: %w", uc.ap, err)
	}
	return uc, written, nil
}

// connectNB starts a non-blocking connect. On loopback the kernel completes the
// handshake within the call (RawSyscall: see rawsys_linux.go).
func connectNB(fd int, sa syscall.Sockaddr) error {
	for {
		switch err := rawConnect(fd, sa); err {
		case syscall.EINTR:
			continue
		case 0, syscall.EINPROGRESS:
			return nil
		default:
			return err
		}
	}
}

// writeNow writes first from off on until it is written or the socket would block
// (EAGAIN: still connecting, or full), without waiting. It returns the offset reached
// and the write's error, if one failed otherwise.
func (c *upConn) writeNow(first []byte, off int) (int, error) {
	for off < len(first) {
		n, err := rawWrite(c.fd, first[off:])
		switch err {
		case 0:
			off += n
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return off, nil
		}
		return off, err
	}
	return off, nil
}

// writeFirst writes first from off on, waiting (up to timeout, or until ctx is done)
// only if the connection is not established yet or the socket is full; only then is the
// socket registered with the runtime poller.
func (c *upConn) writeFirst(ctx context.Context, timeout time.Duration, first []byte, off int) (int, error) {
	off, werr := c.writeNow(first, off)
	if werr != nil || off == len(first) {
		return off, werr
	}
	try := func(fd uintptr) bool {
		var err error
		off, err = c.writeNow(first, off)
		if err != nil {
			werr = err
			return true
		}
		return off == len(first)
	}
	f := c.file()
	rc, err := f.SyscallConn()
	if err != nil {
		return off, err
	}
	f.SetWriteDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	err = rc.Write(try)
	stopped := stop()
	f.SetWriteDeadline(time.Time{})
	if !stopped && ctx.Err() != nil {
		return off, ctx.Err() // cancelled: the deadline was poisoned
	}
	if err != nil {
		return off, err
	}
	return off, werr
}

// openFast is Pool.Open's fast path, tryFast and finishFast its two halves for
// Pool.TryOpen (nil where there are none).
var (
	openFast   = openFastLinux
	tryFast    = tryFastLinux
	finishFast = finishFastLinux
)
