//go:build linux && race

package rawio

import "syscall"

// Once is syscall.Write under the race detector: syscall.Write tells the detector that
// what was written before the write happens before what a read of its bytes does next
// (tests synchronise through their connections so), which a raw system call would not.
func Once(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }

// OnceRead is syscall.Read under the race detector (see Once).
func OnceRead(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }

// Pending is Pending (once_linux.go) with syscall.Recvfrom under the race detector.
func Pending(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EINTR
}
