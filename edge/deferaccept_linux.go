package edge

import (
	"net"
	"syscall"
)

// deferAccept sets TCP_DEFER_ACCEPT on a TCP listener (best effort): the kernel hands a
// connection to accept once its first bytes have arrived, so its ClientHello is usually
// there when it is accepted and it can be routed early (helloearly.go). A client that
// sends nothing is accepted all the same after about secs seconds (the SYN-ACK the
// kernel sends again then is answered by an ACK, which it no longer drops), and the
// handshake timeout closes it as before; until then it holds no connection slot.
func deferAccept(ln net.Listener, secs int) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, secs) })
}
