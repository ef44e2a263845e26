package rawio

import (
	"io"
	"testing"
)

// TestTryRead: TryRead returns the bytes that are there, 0 on a quiet socket (without
// waiting) and 0 at the peer's FIN, which the Read after it reports as io.EOF.
func TestTryRead(t *testing.T) {
	c, s := pair(t)
	r := reader(t, c)
	p := make([]byte, 64)
	if n := r.TryRead(p); n != 0 {
		t.Fatalf("TryRead on a quiet socket: %d bytes, want 0", n)
	}
	s.Write([]byte("there"))
	waitPending(t, rawConn(t, c), "the peer wrote")
	if n := r.TryRead(p); string(p[:n]) != "there" {
		t.Fatalf("TryRead: %q, want \"there\"", p[:n])
	}
	s.CloseWrite()
	waitPending(t, rawConn(t, c), "the peer's FIN")
	if n := r.TryRead(p); n != 0 {
		t.Fatalf("TryRead at the FIN: %d bytes, want 0", n)
	}
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Fatalf("Read after the FIN: %d, %v; want 0, io.EOF", n, err)
	}
}
