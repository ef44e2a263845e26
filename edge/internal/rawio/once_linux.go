//go:build linux && !race

package rawio

import (
	"syscall"
	"unsafe"
)

// Once is one write(2) of p on fd, a non-blocking socket, as a raw system call.
func Once(fd uintptr, p []byte) (int, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// OnceRead is one read(2) into p on fd, a non-blocking socket, as a raw system call.
func OnceRead(fd uintptr, p []byte) (int, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// Pending reports whether a read on fd, a non-blocking socket, would not wait: bytes or
// the peer's FIN are there, or an error (a reset). It peeks at one byte (MSG_PEEK), so
// nothing is consumed and no window update is sent.
func Pending(fd uintptr) bool {
	var b [1]byte
	_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return e != syscall.EAGAIN && e != syscall.EINTR
}
