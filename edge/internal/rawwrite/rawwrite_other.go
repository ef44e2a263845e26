//go:build !linux

package rawwrite

import "syscall"

const supported = false

// Once is unused off Linux (New and RawConn return nil).
func Once(uintptr, []byte) (int, error) { return 0, syscall.EINVAL }

func nonBlocking(syscall.RawConn) bool { return false }
