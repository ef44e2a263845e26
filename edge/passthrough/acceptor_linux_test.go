package passthrough

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// testAcceptor is an AcceptHandler: Admit answers admit; each accepted connection is
// sent on served (the loop's goroutine must not block: the channel is buffered), Yield
// signals yielded.
type testAcceptor struct {
	admit    atomic.Bool
	admitted atomic.Int32 // slots taken and not given back
	served   chan net.Conn
	yielded  chan struct{}
}

func newTestAcceptor() *testAcceptor {
	h := &testAcceptor{served: make(chan net.Conn, 8), yielded: make(chan struct{}, 8)}
	h.admit.Store(true)
	return h
}

func (h *testAcceptor) Admit() bool {
	if !h.admit.Load() {
		return false
	}
	h.admitted.Add(1)
	return true
}
func (h *testAcceptor) Unadmit()         { h.admitted.Add(-1) }
func (h *testAcceptor) Serve(c net.Conn) { h.served <- c }
func (h *testAcceptor) Yield()           { h.yielded <- struct{}{} }

// acceptorOn listens on loopback and returns the listener and an Acceptor of it with h,
// closed when the test ends.
func acceptorOn(t *testing.T, h AcceptHandler) (*net.TCPListener, *Acceptor) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	a, err := NewAcceptor(ln.(*net.TCPListener), h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return ln.(*net.TCPListener), a
}

// waitAdmitted waits (10 s at most) for the slots taken and not given back to be want:
// after Serve the loop takes one more for its next accept4 and gives it back when that
// finds none (EAGAIN), so a count read right after a connection came may be one high.
func (h *testAcceptor) waitAdmitted(t *testing.T, want int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.admitted.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d slots kept; want %d", h.admitted.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// next waits for the next connection the loop accepted.
func (h *testAcceptor) next(t *testing.T) *upConn {
	t.Helper()
	select {
	case c := <-h.served:
		return c.(*upConn)
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted by the loop after 10 s")
		return nil
	}
}

// An armed loop accepts (a connection already waiting in the backlog too: edge-triggered,
// its readiness is reported when the listener is added), the connection's home is that
// loop, Start registers it there, and bytes flow through it.
func TestAcceptorStartsOnItsLoop(t *testing.T) {
	echo := echoListener(t)
	h := newTestAcceptor()
	ln, a := acceptorOn(t, h)
	client, err := net.Dial("tcp", ln.Addr().String()) // before Arm: in the backlog
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if !a.Arm() {
		t.Fatal("Arm: no loop")
	}
	c := h.next(t)
	if c.home == nil || c.home != a.l {
		t.Fatalf("accepted connection's loop %p; want the acceptor's %p", c.home, a.l)
	}
	up, err := net.Dial("tcp", echo)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	lh, ok := Start(c, up, time.Minute, func(bool, int64) {}, func(err error) {
		c.Close()
		up.Close()
		ended <- err
	})
	if !ok {
		t.Fatal("Start refused")
	}
	if lh.c.l != c.home {
		t.Errorf("Start registered the connection with loop %p; want its home %p", lh.c.l, c.home)
	}
	if err := echoRoundTrip(client.(*net.TCPConn), 100<<10); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("connection ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("connection not ended 10 s after both sides closed")
	}
	if n := h.admitted.Load(); n != 1 {
		t.Errorf("%d slots kept; want 1 (the connection's)", n)
	}
}

// A handler that declines (Admit false) gets the listener back (Yield) with its slot
// untaken, and the waiting connection stays in the backlog for whoever accepts next;
// armed again, the loop accepts it.
func TestAcceptorYieldsAndRearms(t *testing.T) {
	h := newTestAcceptor()
	h.admit.Store(false)
	ln, a := acceptorOn(t, h)
	if !a.Arm() {
		t.Fatal("Arm: no loop")
	}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	select {
	case <-h.yielded:
	case <-time.After(10 * time.Second):
		t.Fatal("no Yield 10 s after a declined connection")
	}
	select {
	case c := <-h.served:
		t.Fatalf("a declined connection was accepted: %v", c.RemoteAddr())
	default:
	}
	h.admit.Store(true)
	if !a.Arm() {
		t.Fatal("Arm again: no loop")
	}
	if c := h.next(t); c.RemoteAddr().String() != client.LocalAddr().String() {
		t.Errorf("accepted %v; want the waiting %v", c.RemoteAddr(), client.LocalAddr())
	}
	h.waitAdmitted(t, 1)
}

// A loop that fails yields its listener; Arm then picks a loop made again, which accepts.
func TestAcceptorLoopFailureYields(t *testing.T) {
	h := newTestAcceptor()
	ln, a := acceptorOn(t, h)
	if !a.Arm() {
		t.Fatal("Arm: no loop")
	}
	a.mu.Lock()
	l := a.l
	a.mu.Unlock()
	l.post(loopOp{fail: errors.New("injected")})
	select {
	case <-h.yielded:
	case <-time.After(10 * time.Second):
		t.Fatal("no Yield 10 s after the loop failed")
	}
	allLoopsLive(t)
	if !a.Arm() {
		t.Fatal("Arm after the failure: no loop")
	}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if c := h.next(t); c.home == l || c.home.dead.Load() {
		t.Error("accepted on the failed loop")
	}
}

// Close stops the accepting: a connection arriving after it is not the loop's, and the
// listener itself stays open (its own descriptor) for the caller's Accept.
func TestAcceptorClose(t *testing.T) {
	h := newTestAcceptor()
	ln, a := acceptorOn(t, h)
	if !a.Arm() {
		t.Fatal("Arm: no loop")
	}
	a.Close()
	if a.Arm() {
		t.Error("Arm after Close reported true")
	}
	waitFDClosed(t, a)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ln.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("the listener's own Accept after Close: %v", err)
	}
	c.Close()
	select {
	case c := <-h.served:
		t.Errorf("the loop accepted %v after Close", c.RemoteAddr())
	default:
	}
}

// waitFDClosed waits (10 s at most) for a's loop to close a's descriptor after Close.
func waitFDClosed(t *testing.T, a *Acceptor) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		a.mu.Lock()
		closed := a.fdClosed
		a.mu.Unlock()
		if closed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the acceptor's descriptor not closed within 10 s of Close")
		}
	}
}
