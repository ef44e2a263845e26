//go:build linux && race

package rawio

import "syscall"

// Once is syscall.Write under the race detector: syscall.Write tells the detector that
// what was written before the write happens before what a read of its bytes does next
// (tests synchronise through their connections so), which a raw system call would not.
func Once(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }

// OnceRead is syscall.Read under the race detector (see Once).
func OnceRead(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }
