package rawio

import (
	"io"
	"syscall"
	"testing"
	"time"
)

// TestPollFirst: a Read after PollFirst returns the bytes and the FIN that were there
// before it (the poll sees them: RawConn.Read made the poller forget their readiness, so
// a wait would last until the deadline), waits for bytes that come later, and polls only
// once: the Read after it reads at once.
func TestPollFirst(t *testing.T) {
	c, s := pair(t)
	r := reader(t, c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	p := make([]byte, 64)

	s.Write([]byte("early"))
	waitPending(t, rawConn(t, c), "the peer's write")
	r.PollFirst()
	if n, err := r.Read(p); err != nil || string(p[:n]) != "early" {
		t.Fatalf("bytes there before: %q, %v; want early, nil", p[:n], err)
	}

	r.PollFirst()
	go func() {
		time.Sleep(20 * time.Millisecond) // any timing works: the read waits or finds them
		s.Write([]byte("later"))
	}()
	if n, err := r.Read(p); err != nil || string(p[:n]) != "later" {
		t.Fatalf("bytes after: %q, %v; want later, nil", p[:n], err)
	}
	if r.pollFirst.Load() {
		t.Fatal("PollFirst still set after the read it was for")
	}

	s.CloseWrite()
	waitPending(t, rawConn(t, c), "the peer's FIN")
	r.PollFirst()
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Fatalf("FIN there before: %d, %v; want 0, io.EOF", n, err)
	}
}

// rawConn is c's syscall.RawConn.
func rawConn(t *testing.T, c interface {
	SyscallConn() (syscall.RawConn, error)
}) syscall.RawConn {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}
