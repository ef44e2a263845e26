package rawio

import "syscall"

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
