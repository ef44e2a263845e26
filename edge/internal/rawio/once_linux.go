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
