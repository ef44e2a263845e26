//go:build !linux

package rawio

import "syscall"

const supported = false

// Once is unused off Linux (New and RawConn return nil).
func Once(uintptr, []byte) (int, error) { return 0, syscall.EINVAL }

func nonBlocking(syscall.RawConn) bool { return false }

// OnceRead is unused off Linux.
func OnceRead(uintptr, []byte) (int, error) { return 0, syscall.EINVAL }

// Pending is unused off Linux.
func Pending(uintptr) bool { return true }
