package rawio

import (
	"errors"
	"io"
	"syscall"
	"testing"
	"time"
)

// pendingOf is Pending on c's descriptor.
func pendingOf(t *testing.T, rc syscall.RawConn) bool {
	t.Helper()
	var p bool
	if err := rc.Control(func(fd uintptr) { p = Pending(fd) }); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitPending polls Pending until it is true, for at most 10 s (a peer's bytes or reset
// on loopback are there as soon as its call returns; the poll only guards a loaded machine).
func waitPending(t *testing.T, rc syscall.RawConn, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !pendingOf(t, rc); {
		if time.Now().After(deadline) {
			t.Fatalf("Pending false 10s after %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPending: Pending is false on a quiet socket and true once bytes, a FIN or a reset
// are there, and consumes none of them: the reads that follow get the bytes, io.EOF and
// ECONNRESET (a peeking recv would have taken the reset's error, leaving io.EOF).
func TestPending(t *testing.T) {
	t.Run("bytes then FIN", func(t *testing.T) {
		c, s := pair(t)
		rc := RawConn(c)
		if pendingOf(t, rc) {
			t.Fatal("Pending true on a quiet socket")
		}
		s.Write([]byte("hi"))
		waitPending(t, rc, "the peer wrote")
		r := NewReader(c)
		buf := make([]byte, 8)
		if n, err := r.Read(buf); err != nil || string(buf[:n]) != "hi" {
			t.Fatalf("read %q %v, want \"hi\"", buf[:n], err)
		}
		s.CloseWrite()
		waitPending(t, rc, "the peer's FIN")
		if _, err := r.Read(buf); err != io.EOF {
			t.Fatalf("read after FIN: %v, want io.EOF", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		c, s := pair(t)
		rc := RawConn(c)
		s.SetLinger(0)
		s.Close()
		waitPending(t, rc, "the peer's reset")
		waitPending(t, rc, "the peer's reset (asked twice)")
		_, err := NewReader(c).Read(make([]byte, 8))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read after reset: %v, want ECONNRESET", err)
		}
	})
}
