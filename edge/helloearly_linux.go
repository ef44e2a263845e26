package edge

import (
	"net"
	"syscall"
	"unsafe"

	"github.com/edgectl/edge/edge/passthrough"
)

// readNow reads what has arrived on c into buf without waiting (the socket is
// non-blocking): n is 0 when nothing is there yet, or c is not a plain TCP connection
// (a PROXY protocol connection: its header is read in its own goroutine).
func readNow(c net.Conn, buf []byte) (n int) {
	if lc, ok := c.(*limitConn); ok {
		c = lc.Conn
	}
	if n, ok := passthrough.ReadNow(c, buf); ok {
		return n // accepted raw (rawListener)
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
			// RawSyscall: the read never blocks, and entersyscall would wake the
			// runtime's monitor when the process was idle (see passthrough/rawsys_linux.go).
			k, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
			if errno == syscall.EINTR {
				continue
			}
			if errno == 0 && k > 0 {
				n = int(k)
			}
			return true // never wait
		}
	})
	return n
}
