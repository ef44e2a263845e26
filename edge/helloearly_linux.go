package edge

import (
	"net"
	"syscall"
)

// readNow reads what has arrived on c into buf without waiting (the socket is
// non-blocking): n is 0 when nothing is there yet, or c is not a plain TCP connection
// (a PROXY protocol connection: its header is read in its own goroutine).
func readNow(c net.Conn, buf []byte) (n int) {
	if lc, ok := c.(*limitConn); ok {
		c = lc.Conn
	}
	tc, ok := c.(*net.TCPConn)
	if !ok || len(buf) == 0 {
		return 0
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0
	}
	rc.Read(func(fd uintptr) bool {
		for {
			k, err := syscall.Read(int(fd), buf)
			if err == syscall.EINTR {
				continue
			}
			if err == nil && k > 0 {
				n = k
			}
			return true // never wait
		}
	})
	return n
}
