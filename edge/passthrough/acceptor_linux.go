package passthrough

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// An event loop that accepts itself, the way HAProxy's threads do: the listening socket is
// in the loop's epoll set, and on its readiness the loop accepts (accept4, non-blocking),
// and the handler routes the connection on the loop's goroutine. A connection it passes
// through is opened and started there too, and Start registers it with the same loop (its
// home): from the client's SYN to its last byte it never changes goroutine, and the
// loop's one wake-up serves a batch of new connections and the bytes of the open ones.
//
// One loop at a time accepts for a listener. With moveMinLoops loops or more it moves on
// (acceptor_move_linux.go): after acceptMove connections the loop hands the listener to
// the next loop of the set, so over time every loop accepts, and holds, its share of the
// connections, as with all threads accepting, for two epoll_ctl per acceptMove
// connections; with fewer the one loop keeps it. Not several loops at
// once: with each loop's epoll descriptor itself waited on by Go's poller,
// EPOLLEXCLUSIVE cannot pick one of them (the nested epoll's wake-up does not count as a
// woken waiter, so every loop would be woken for each connection).
//
// The Acceptor's descriptor is a duplicate of the listener's, used by the loop that has
// it alone. Arm, and a move, register it with the loop the way Start registers a
// connection (addAcceptor: under the loop's mutex, an op in the inbox, pending set, then
// EPOLL_CTL_ADD; an ADD of a listener with connections waiting reports its readiness at
// once, so none is left behind); the loop takes it with its inbox, on the first event.
// The loop removes it from its epoll set when it moves it on, when the handler declines
// (Admit false: no connection slot, no passthrough site any more) or an accept fails
// otherwise (the handler then accepts itself: Yield), and closes it when Close posts so.
// A loop that fails yields its acceptors. Acceptor.l, under Acceptor.mu, names the loop
// that has it: set by Arm when none has, changed only by that loop (a move, a yield);
// Close posts to it, and a closed Acceptor does not move.

// acceptBudget is how many connections a loop accepts in a row before the bytes of its
// open connections get their turn.
const acceptBudget = 32

// accFd marks a listening socket's events (their Pad is the acceptor's id); the
// doorbell's are -1, a connection's slot is >= 0.
const accFd = -2

// acceptorIDs numbers the Acceptors (the epoll data of their events).
var acceptorIDs atomic.Int32

// AcceptHandler is what an Acceptor's loop calls, on its goroutine: none may block. The
// loop that calls it changes as the listener moves, never two at once.
type AcceptHandler interface {
	// Admit is called before each accept: false stops the loops' accepting (Yield follows).
	Admit() bool
	// Unadmit gives back what Admit took when no connection came of it.
	Unadmit()
	// Serve takes an accepted connection (as NewClientConn's: Start registers it with
	// the accepting loop).
	Serve(c net.Conn)
	// Yield tells that the loops stopped accepting (Admit false, an accept error, the loop
	// failed): the listener is the caller's until it arms the Acceptor again.
	Yield()
}

// Acceptor is a listening socket the event loops accept from, in turn, while it is armed.
type Acceptor struct {
	fd int   // a duplicate of the listener's descriptor, the loop's while armed
	id int32 // the epoll data of its events
	h  AcceptHandler

	mu       sync.Mutex
	l        *loop // the loop it is armed on (or its arming is in the inbox of); nil: none
	closed   bool
	fdClosed bool
}

// accSlot is an Acceptor a loop has, and how many connections the loop accepted from it
// since it came.
type accSlot struct {
	a *Acceptor
	n int
}

// NewAcceptor returns an Acceptor of the listener ln (its descriptor duplicated), not
// armed.
func NewAcceptor(ln syscall.Conn, h AcceptHandler) (*Acceptor, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var errno syscall.Errno
	if err := rc.Control(func(lfd uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, lfd, syscall.F_DUPFD_CLOEXEC, 0)
		fd, errno = int(r), e
	}); err != nil {
		return nil, err
	}
	if errno != 0 {
		return nil, os.NewSyscallError("fcntl", errno)
	}
	return &Acceptor{fd: fd, id: acceptorIDs.Add(1), h: h}, nil
}

// Arm has the loops accept (from the loop that has the listener while one does); false
// when closed, or no loop can be had now. It returns at once.
func (a *Acceptor) Arm() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	if a.l != nil {
		return true
	}
	l := pickLoop()
	if l == nil || !l.addAcceptor(a) {
		return false
	}
	a.l = l
	return true
}

// Close stops the accepting for good; the loop that has the listener closes the
// descriptor (at once when none has). Yield is not called.
func (a *Acceptor) Close() {
	a.mu.Lock()
	a.closed = true
	l := a.l
	if l == nil {
		a.closeFDLocked()
	}
	a.mu.Unlock()
	if l != nil {
		l.post(loopOp{acc: a, kill: true}) // false: the loop failed, and its fail closes it
	}
}

func (a *Acceptor) closeFDLocked() {
	if !a.fdClosed {
		a.fdClosed = true
		syscall.Close(a.fd)
	}
}

// addAcceptor registers a's listener with l, called with a.mu held by the goroutine
// giving it to l (Arm, or the loop moving it): under l.mu its op goes to the inbox,
// pending is set, then the listener is added to the epoll set, so the loop, on its
// first event, takes it before it looks it up. False when l is dead or the ADD failed.
func (l *loop) addAcceptor(a *Acceptor) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead.Load() {
		return false
	}
	l.inbox = append(l.inbox, loopOp{acc: a})
	l.pending.Store(true)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | epollET, Fd: accFd, Pad: a.id}
	if errno := rawEpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, a.fd, &ev); errno != 0 {
		l.inbox[len(l.inbox)-1] = loopOp{}
		l.inbox = l.inbox[:len(l.inbox)-1]
		return false
	}
	return true
}

// acceptorOp handles an Acceptor's op on the loop: take it (added by addAcceptor), or
// close it.
func (l *loop) acceptorOp(a *Acceptor, close bool) {
	if close {
		l.removeAcceptor(a)
		a.mu.Lock()
		a.closeFDLocked()
		a.mu.Unlock()
		return
	}
	for i := range l.accs {
		if l.accs[i].a == nil {
			l.accs[i] = accSlot{a: a}
			return
		}
	}
	l.accs = append(l.accs, accSlot{a: a})
}

// acceptorAt returns the index of a in l.accs; -1 when l does not have it.
func (l *loop) acceptorAt(a *Acceptor) int {
	for i := range l.accs {
		if l.accs[i].a == a {
			return i
		}
	}
	return -1
}

// removeAcceptor takes a's listener out of the loop's epoll set, if it is there.
func (l *loop) removeAcceptor(a *Acceptor) {
	if i := l.acceptorAt(a); i >= 0 {
		rawEpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, a.fd, &syscall.EpollEvent{})
		l.accs[i] = accSlot{}
	}
}

// disarm stops a's accepting on this loop and yields the listener to its handler.
func (l *loop) disarm(a *Acceptor) {
	l.removeAcceptor(a)
	l.dropAcceptor(a)
}

// dropAcceptor lets a go from this loop (not in its epoll set, or the loop failed): the
// handler accepts, or, closed meanwhile, the descriptor is closed.
func (l *loop) dropAcceptor(a *Acceptor) {
	a.mu.Lock()
	mine := a.l == l
	if mine {
		a.l = nil
	}
	closed := a.closed
	if closed {
		a.closeFDLocked()
	}
	a.mu.Unlock()
	if mine && !closed {
		a.h.Yield()
	}
}

// acceptEvent handles the readiness of the listener of the acceptor id, taking the inbox
// first when the loop does not have it and something was registered meanwhile (Arm or
// a move); an event of a listener the loop moved on is dropped (the next loop's ADD
// reported the readiness again).
func (l *loop) acceptEvent(id int32) {
	for took := false; ; took = true {
		for i := range l.accs {
			if a := l.accs[i].a; a != nil && a.id == id {
				l.accept(i)
				return
			}
		}
		if took || !l.pending.Load() {
			return
		}
		l.takeInbox()
	}
}

// accept accepts from the listener of l.accs[i] until none is waiting (edge-triggered),
// the handler declines, or the budget is used (the loop comes back: retryAccept); after
// acceptMove connections it moves the listener to the next loop.
func (l *loop) accept(i int) {
	a := l.accs[i].a
	n := 0
	for n < acceptBudget {
		if !a.h.Admit() {
			l.disarm(a)
			return
		}
		fd, peer, errno := Accept4(a.fd)
		if errno != 0 {
			a.h.Unadmit()
			if errno != syscall.EAGAIN { // EMFILE and the like: the handler's Accept sees it, and backs off
				l.disarm(a)
				return
			}
			break
		}
		a.h.Serve(&upConn{fd: fd, ap: peer, home: l})
		n++
	}
	if l.accs[i].n += n; l.accs[i].n >= acceptMove && l.moveAcceptor(i) {
		return
	}
	if n == acceptBudget {
		l.accAgain = append(l.accAgain, a)
	}
}

// retryAccept gives the listeners that used their budget another turn.
func (l *loop) retryAccept() {
	again := l.accAgain
	l.accAgain = l.accAgain[len(l.accAgain):]
	for _, a := range again {
		if i := l.acceptorAt(a); i >= 0 {
			l.accept(i)
		}
	}
	if len(l.accAgain) == 0 {
		l.accAgain = again[:0]
	}
}

// failAcceptors lets the acceptors of a failed loop go: its own and those whose op was in
// its inbox.
func (l *loop) failAcceptors(ops []loopOp) {
	for i := range l.accs {
		if a := l.accs[i].a; a != nil {
			l.accs[i] = accSlot{}
			l.dropAcceptor(a)
		}
	}
	for _, op := range ops {
		if op.acc != nil {
			l.dropAcceptor(op.acc)
		}
	}
}

// Accept4 accepts a connection on the non-blocking listening socket fd without waiting
// (accept4(2), the new socket non-blocking and close-on-exec): its descriptor and peer, or
// the error (EAGAIN: none waiting). EINTR and ECONNABORTED are retried.
func Accept4(fd int) (int, netip.AddrPort, syscall.Errno) {
	var sa [syscall.SizeofSockaddrAny]byte
	for {
		n := uint32(len(sa))
		// RawSyscall: non-blocking, see rawsys_linux.go.
		r, _, e := syscall.RawSyscall6(syscall.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])),
			uintptr(unsafe.Pointer(&n)), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
		switch e {
		case 0:
			return int(r), sockaddrPeer(&sa), 0
		case syscall.EINTR, syscall.ECONNABORTED:
			continue
		}
		return -1, netip.AddrPort{}, e
	}
}

// sockaddrPeer returns the address of a sockaddr accept4 filled.
func sockaddrPeer(sa *[syscall.SizeofSockaddrAny]byte) netip.AddrPort {
	port := uint16(sa[2])<<8 | uint16(sa[3])
	switch *(*uint16)(unsafe.Pointer(&sa[0])) {
	case syscall.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(sa[4:8])), port)
	case syscall.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(sa[8:24])), port)
	}
	return netip.AddrPort{}
}
