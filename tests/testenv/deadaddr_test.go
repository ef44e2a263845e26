package testenv

import (
	"errors"
	"net"
	"syscall"
	"testing"
)

// TestDeadAddrRefusesAndStaysReserved: a dial is refused, and binding the same port again
// fails while the test runs.
func TestDeadAddrRefusesAndStaysReserved(t *testing.T) {
	a := DeadAddr(t)
	if _, err := net.Dial("tcp", a); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v; want connection refused", a, err)
	}
	if l, err := net.Listen("tcp", a); err == nil {
		l.Close()
		t.Fatalf("listen %s succeeded; the port should stay reserved", a)
	}
}
