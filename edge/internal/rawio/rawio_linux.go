package rawio

import (
	"syscall"
	"unsafe"
)

const supported = true

// nonBlocking reports whether rc's descriptor has O_NONBLOCK.
func nonBlocking(rc syscall.RawConn) bool {
	var flags uintptr
	var e syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		flags, _, e = syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	}); err != nil || e != 0 {
		return false
	}
	return flags&syscall.O_NONBLOCK != 0
}

// pollIn is POLLIN (poll.h).
const pollIn = 0x1

// pollFd is struct pollfd.
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

// Pending reports whether a read on fd, a socket, would not wait: bytes or the peer's FIN
// are there, or an error (a reset). It asks ppoll(2) with a zero timeout, which consumes
// nothing: not even the pending error a peeking recv(2) would take from the next read.
func Pending(fd uintptr) bool {
	p := pollFd{fd: int32(fd), events: pollIn}
	var ts syscall.Timespec // zero: do not wait
	n, _, e := syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1,
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	return e != 0 || n != 0 // an error: let the read that follows meet it
}
