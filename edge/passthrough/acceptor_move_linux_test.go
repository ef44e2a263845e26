package passthrough

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// moveCounter counts the listener moves (loopHooks.moved) while a test runs.
func moveCounter(t *testing.T) *atomic.Int32 {
	t.Helper()
	var n atomic.Int32
	setHooks(t, &loopTestHooks{moved: func(from, to *loop) {
		if from == to {
			t.Error("a listener moved to the loop it was on")
		}
		n.Add(1)
	}})
	return &n
}

// homeCounter is an AcceptHandler that closes each connection the loop accepts (its
// client reads the end) and counts them by loop.
type homeCounter struct {
	*testAcceptor
	mu    sync.Mutex
	homes map[*loop]int
	total int
}

func newHomeCounter() *homeCounter {
	return &homeCounter{testAcceptor: newTestAcceptor(), homes: map[*loop]int{}}
}

func (h *homeCounter) Serve(c net.Conn) {
	h.mu.Lock()
	h.homes[c.(*upConn).home]++
	h.total++
	h.mu.Unlock()
	h.admitted.Add(-1)
	c.Close()
}

func (h *homeCounter) counts() (map[*loop]int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := make(map[*loop]int, len(h.homes))
	for l, n := range h.homes {
		m[l] = n
	}
	return m, h.total
}

// dialServed dials addr and waits (10 s at most) for the connection's end: whoever
// accepted it closed it.
func dialServed(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		return fmt.Errorf("connection from %v not served: %v", c.LocalAddr(), err)
	}
	return nil
}

// burst dials n connections from workers goroutines at once and reports the first
// connection that was not served.
func burst(addr string, workers, n int) error {
	errs := make(chan error, workers)
	var next atomic.Int32
	for range workers {
		go func() {
			for int(next.Add(1)) <= n {
				if err := dialServed(addr); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Connections accepted one after the other land on every loop in turn: a loop moves
// the listener on only after acceptMove connections, so once it has moved testLoops
// times (a whole round) every loop has accepted at least acceptMove. Not exactly
// acceptMove: the loop counts its connections after each batch of accepts, and the
// client's next connection may arrive within the batch that reaches acceptMove.
func TestAcceptorTakesTurns(t *testing.T) {
	moves := moveCounter(t)
	h := newHomeCounter()
	ln, a := acceptorOn(t, h)
	if !a.Arm() {
		t.Fatal("Arm: no loop")
	}
	limit := 4 * testLoops * (acceptMove + acceptBudget)
	dialled := 0
	for ; moves.Load() < testLoops; dialled++ {
		if dialled == limit {
			t.Fatalf("%d moves after %d connections; want %d", moves.Load(), limit, testLoops)
		}
		if err := dialServed(ln.Addr().String()); err != nil {
			t.Fatalf("connection %d: %v", dialled, err)
		}
	}
	homes, total := h.counts()
	if total != dialled || len(homes) != testLoops {
		t.Fatalf("%d connections on %d loops; want %d on %d", total, len(homes), dialled, testLoops)
	}
	for l, n := range homes {
		if n < acceptMove {
			t.Errorf("loop %d accepted %d connections in its turn; want at least %d", l.index, n, acceptMove)
		}
	}
}

// With fewer loops than moveMinLoops the accepting loop keeps the listener: every
// connection lands on it and nothing moves.
func TestAcceptorStaysWithFewLoops(t *testing.T) {
	defer moveMinLoops.Store(moveMinLoops.Swap(testLoops + 1))
	moves := moveCounter(t)
	h := newHomeCounter()
	ln, a := acceptorOn(t, h)
	if !a.Arm() {
		t.Fatal("Arm: no loop")
	}
	for i := range 2 * acceptMove {
		if err := dialServed(ln.Addr().String()); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	if homes, total := h.counts(); total != 2*acceptMove || len(homes) != 1 {
		t.Fatalf("%d connections on %d loops; want %d on one", total, len(homes), 2*acceptMove)
	}
	if n := moves.Load(); n != 0 {
		t.Fatalf("%d moves; want none", n)
	}
}

// Many connections dialled at once while the listener moves are all accepted by the
// loops: none is left in the backlog by a move.
func TestAcceptorMoveLosesNone(t *testing.T) {
	moves := moveCounter(t)
	h := newHomeCounter()
	ln, a := acceptorOn(t, h)
	if !a.Arm() {
		t.Fatal("Arm: no loop")
	}
	const n = 400
	if err := burst(ln.Addr().String(), 16, n); err != nil {
		t.Fatal(err)
	}
	homes, total := h.counts()
	if total != n {
		t.Errorf("%d connections accepted by the loops; want %d", total, n)
	}
	if len(homes) < 2 || moves.Load() < 2 {
		t.Errorf("%d moves, connections on %d loops; want the listener moved", moves.Load(), len(homes))
	}
}

// acceptOwn accepts from ln and closes what it gets, until ln is closed: the caller's
// own Accept once the loops do not accept.
func acceptOwn(t *testing.T, ln *net.TCPListener) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
}

// Close while connections pour in and the listener moves: the descriptor is closed by
// the loop that has it, none yields, Arm refuses after it, and every connection is
// served, by the loops before and the listener's own Accept after.
func TestAcceptorCloseWhileMoving(t *testing.T) {
	moves := moveCounter(t)
	h := newHomeCounter()
	ln, a := acceptorOn(t, h)
	acceptOwn(t, ln)
	if !a.Arm() {
		t.Fatal("Arm: no loop")
	}
	errc := make(chan error, 1)
	go func() { errc <- burst(ln.Addr().String(), 8, 300) }()
	for deadline := time.Now().Add(10 * time.Second); moves.Load() < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 3 moves within 10 s")
		}
	}
	a.Close()
	if a.Arm() {
		t.Error("Arm after Close reported true")
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	waitFDClosed(t, a)
	select {
	case <-h.yielded:
		t.Error("Yield after Close")
	default:
	}
}

// A yield while the listener moves (the handler declines) gives the listener back to the
// caller, whose own Accept serves the connections meanwhile; armed again, the loops
// accept and move on as before, and a failed loop is skipped.
func TestAcceptorYieldAndRearmWhileMoving(t *testing.T) {
	moves := moveCounter(t)
	h := newHomeCounter()
	ln, a := acceptorOn(t, h)
	if !a.Arm() {
		t.Fatal("Arm: no loop")
	}
	addr := ln.Addr().String()
	if err := burst(addr, 8, 100); err != nil {
		t.Fatal(err)
	}
	h.admit.Store(false)
	waiting, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	select {
	case <-h.yielded:
	case <-time.After(10 * time.Second):
		t.Fatal("no Yield 10 s after the handler declined")
	}
	a.mu.Lock()
	l := a.l
	a.mu.Unlock()
	if l != nil {
		t.Fatal("a loop still has the listener after it yielded")
	}

	h.admit.Store(true)
	before := moves.Load()
	if !a.Arm() {
		t.Fatal("Arm again: no loop")
	}
	waiting.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := waiting.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the connection waiting at the yield not served after Arm: %v", err)
	}
	a.mu.Lock()
	dying := a.l
	a.mu.Unlock()
	if dying == nil || !dying.post(loopOp{fail: errors.New("injected")}) {
		t.Fatal("no live loop has the listener after Arm")
	}
	t.Cleanup(func() { allLoopsLive(t) })
	select {
	case <-h.yielded:
	case <-time.After(10 * time.Second):
		t.Fatal("no Yield 10 s after the loop failed")
	}
	if !a.Arm() {
		t.Fatal("Arm after the failure: no loop")
	}
	before2, total := h.counts()
	if err := burst(addr, 8, 100); err != nil {
		t.Fatal(err)
	}
	homes, after := h.counts()
	if after-total != 100 {
		t.Errorf("%d of 100 connections accepted by the loops after the failure", after-total)
	}
	if n := homes[dying] - before2[dying]; n != 0 {
		t.Errorf("the failed loop accepted %d connections", n)
	}
	if moves.Load() <= before {
		t.Error("no move after the listener was armed again")
	}
}
