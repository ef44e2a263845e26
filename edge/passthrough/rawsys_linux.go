package passthrough

import (
	"syscall"
	"unsafe"
)

// System calls that never block (non-blocking descriptors, SPLICE_F_NONBLOCK, a zero
// epoll timeout), made without telling the scheduler (RawSyscall). syscall.Syscall's
// entersyscall wakes the runtime's monitor (sysmon) when the process was idle, and the
// monitor then polls every 20 µs for a millisecond before it backs off: under a load of
// short connections, where the process goes idle between bursts, that was about half a
// thread wake-up per connection. It also lets the monitor take the P of a call that
// lasts over 20 µs (a loopback connect or splice runs the peer's TCP stack) and hand it
// to another thread. None of these calls wait, so the scheduler needs not know.

// rawSplice is splice(2) with no offsets.
func rawSplice(in, out, n int, flags int) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n), uintptr(flags))
	return int(r), e
}

// rawEpollWait is epoll_pwait(2) (every Linux architecture has it; arm64 has no
// epoll_wait) with a zero timeout and no signal mask.
func rawEpollWait(epfd int, events []syscall.EpollEvent) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	return int(r), e
}

// rawEpollCtl is epoll_ctl(2).
func rawEpollCtl(epfd, op, fd int, ev *syscall.EpollEvent) syscall.Errno {
	_, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return e
}

// rawShutdown is shutdown(2).
func rawShutdown(fd, how int) syscall.Errno {
	_, _, e := syscall.RawSyscall(syscall.SYS_SHUTDOWN, uintptr(fd), uintptr(how), 0)
	return e
}

// rawWrite is write(2) on a non-blocking descriptor.
func rawWrite(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), e
}

// rawRead is read(2) on a non-blocking descriptor.
func rawRead(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), e
}

// rawConnect is connect(2) on a non-blocking socket, for IPv4 and IPv6 addresses.
func rawConnect(fd int, sa syscall.Sockaddr) syscall.Errno {
	var buf [28]byte // sockaddr_in6, the larger
	n := 0
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		*(*uint16)(unsafe.Pointer(&buf[0])) = syscall.AF_INET
		buf[2], buf[3] = byte(sa.Port>>8), byte(sa.Port)
		copy(buf[4:8], sa.Addr[:])
		n = syscall.SizeofSockaddrInet4
	case *syscall.SockaddrInet6:
		*(*uint16)(unsafe.Pointer(&buf[0])) = syscall.AF_INET6
		buf[2], buf[3] = byte(sa.Port>>8), byte(sa.Port)
		copy(buf[8:24], sa.Addr[:])
		n = syscall.SizeofSockaddrInet6
	default:
		return syscall.EAFNOSUPPORT
	}
	_, _, e := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(n))
	return e
}

// rawSetsockoptInt is setsockopt(2) with an int value.
func rawSetsockoptInt(fd, level, opt, value int) syscall.Errno {
	v := int32(value)
	_, _, e := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), 4, 0)
	return e
}
