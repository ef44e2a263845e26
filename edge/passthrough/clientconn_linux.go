package passthrough

import (
	"net"
	"net/netip"
	"os"
	"syscall"
)

// Accepted client connections as upConns: a listener that accepts with accept4(2) itself
// (the edge's, while passthrough sites are served) makes each accepted socket a
// connection of its descriptor, which an event loop takes as it is. Package net's accept
// costs a getsockname, a TCP_NODELAY setsockopt (inherited from the listening socket
// here), an epoll_ctl add and, on close, a remove, and the scheduler's entry and exit
// around the accept and the close; a passed-through connection needs none of them.

// NewClientConn returns the connection of fd, a connected non-blocking TCP socket whose
// peer is remote. Its descriptor is the connection's: Close closes it.
func NewClientConn(fd int, remote netip.AddrPort) net.Conn {
	return &upConn{fd: fd, ap: remote}
}

// ReadNow reads what has arrived on c, a connection of NewClientConn, into buf without
// waiting: n is 0 when nothing is there yet; ok is false when c is no such connection, or
// it has been wrapped for the poller.
func ReadNow(c net.Conn, buf []byte) (n int, ok bool) {
	uc, isUp := c.(*upConn)
	if !isUp || len(buf) == 0 {
		return 0, false
	}
	fd, ok := uc.rawFD()
	if !ok {
		return 0, false
	}
	for {
		k, errno := rawRead(fd, buf)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == 0 && k > 0:
			return k, true
		}
		return 0, true
	}
}

// TCPConn returns c, a connection of NewClientConn, as a *net.TCPConn of package net
// (its descriptor duplicated, the original closed), for everything that is not passed
// through; c must not be used after. Other connections are returned as they are.
func TCPConn(c net.Conn) (net.Conn, error) {
	uc, isUp := c.(*upConn)
	if !isUp {
		return c, nil
	}
	fd, ok := uc.rawFD()
	if !ok {
		return c, nil
	}
	uc.closed.Store(true) // its Close must not close fd again
	uc.once.Do(func() { uc.made.Store(true) })
	f := os.NewFile(uintptr(fd), "tcp")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	return nc, nil
}
