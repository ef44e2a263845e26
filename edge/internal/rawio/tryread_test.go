package rawio

import (
	"errors"
	"io"
	"syscall"
	"testing"
)

// TestTryRead: TryRead returns the bytes that are there, 0 on a quiet socket (without
// waiting) and 0 at the peer's FIN, which the Read after it reports as io.EOF.
func TestTryRead(t *testing.T) {
	c, s := pair(t)
	r := reader(t, c)
	p := make([]byte, 64)
	if n, err := r.TryRead(p); n != 0 || err != nil {
		t.Fatalf("TryRead on a quiet socket: %d bytes, %v; want 0, nil", n, err)
	}
	s.Write([]byte("there"))
	waitPending(t, rawConn(t, c), "the peer wrote")
	if n, err := r.TryRead(p); string(p[:n]) != "there" || err != nil {
		t.Fatalf("TryRead: %q, %v; want \"there\"", p[:n], err)
	}
	s.CloseWrite()
	waitPending(t, rawConn(t, c), "the peer's FIN")
	if n, err := r.TryRead(p); n != 0 || err != nil {
		t.Fatalf("TryRead at the FIN: %d bytes, %v; want 0, nil", n, err)
	}
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Fatalf("Read after the FIN: %d, %v; want 0, io.EOF", n, err)
	}
}

// TestTryReadReset: a reset the try meets is returned, as Read returns it: the kernel
// reports it once, so the Read after the try would see only the end.
func TestTryReadReset(t *testing.T) {
	c, s := pair(t)
	r := reader(t, c)
	s.SetLinger(0)
	s.Close() // RST
	waitPending(t, rawConn(t, c), "the peer's reset")
	n, err := r.TryRead(make([]byte, 64))
	if n != 0 || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("TryRead after a reset: %d, %v; want 0, ECONNRESET", n, err)
	}
}
