//go:build unix

package testenv

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// DeadAddr returns a loopback TCP address that refuses connections for the rest of the
// test. The port stays reserved by a bound socket that never listens, so a test running
// in parallel cannot be handed the same port (a port that is merely closed can be, and
// then "nothing listens there" quietly becomes someone else's server).
func DeadAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("dead address: socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("dead address: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("dead address: getsockname: %v", err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
