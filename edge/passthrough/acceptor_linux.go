package passthrough

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// An event loop that accepts itself, the way HAProxy's threads do: the listening socket is
// in the loop's epoll set, and on its readiness the loop accepts (accept4, non-blocking),
// and the handler routes the connection on the loop's goroutine. A connection it passes
// through is opened and started there too, and Start registers it with the same loop (its
// home): from the client's SYN to its last byte it never changes goroutine, and the
// loop's one wake-up serves a batch of new connections and the bytes of the open ones.
// One loop accepts for a listener: with the loop's epoll descriptor itself waited on by
// Go's poller, EPOLLEXCLUSIVE cannot pick one of several loops (the nested epoll's wake-up
// does not count as a woken waiter, so every loop would be woken for each connection).
//
// The Acceptor's descriptor is a duplicate of the listener's, used by the loop alone: the
// loop adds it to its epoll set when armed (Arm posts to the inbox), removes it when the
// handler declines (Admit false: no connection slot, no passthrough site any more) or an
// accept fails otherwise (the handler then accepts itself: Yield), and closes it when
// Close posts so. A loop that fails yields its acceptors.

// acceptBudget is how many connections a loop accepts in a row before the bytes of its
// open connections get their turn.
const acceptBudget = 32

// accFd marks a listening socket's events (their Pad is the acceptor's index in the loop);
// the doorbell's are -1, a connection's slot is >= 0.
const accFd = -2

// AcceptHandler is what an Acceptor's loop calls, on its goroutine: none may block.
type AcceptHandler interface {
	// Admit is called before each accept: false stops the loop's accepting (Yield follows).
	Admit() bool
	// Unadmit gives back what Admit took when no connection came of it.
	Unadmit()
	// Serve takes an accepted connection (as NewClientConn's: Start registers it with
	// the accepting loop).
	Serve(c net.Conn)
	// Yield tells that the loop stopped accepting (Admit false, an accept error, the loop
	// failed): the listener is the caller's until it arms the Acceptor again.
	Yield()
}

// Acceptor is a listening socket an event loop accepts from while it is armed.
type Acceptor struct {
	fd int // a duplicate of the listener's descriptor, the loop's while armed
	h  AcceptHandler

	mu       sync.Mutex
	l        *loop // the loop it is armed on (or its arming posted to); nil: none
	closed   bool
	fdClosed bool

	idx int32 // its index in l.accs; the goroutine of the loop that has it
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
	return &Acceptor{fd: fd, h: h, idx: -1}, nil
}

// Arm has a loop accept (the same one while it lasts); false when closed or no loop can
// be had now. It returns at once: the loop adds the listener when it takes its inbox.
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
	if l == nil || !l.post(loopOp{acc: a}) {
		return false
	}
	a.l = l
	return true
}

// Close stops the accepting for good; the loop closes the descriptor (at once when no
// loop has it). Yield is not called.
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

// acceptorOp handles an Acceptor's op on the loop: arm (add the listener), or close.
func (l *loop) acceptorOp(a *Acceptor, close bool) {
	if close {
		l.removeAcceptor(a)
		a.mu.Lock()
		a.closeFDLocked()
		a.mu.Unlock()
		return
	}
	idx := int32(len(l.accs))
	for i, b := range l.accs {
		if b == nil {
			idx = int32(i)
			break
		}
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | epollET, Fd: accFd, Pad: idx}
	if errno := rawEpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, a.fd, &ev); errno != 0 {
		l.dropAcceptor(a)
		return
	}
	if int(idx) == len(l.accs) {
		l.accs = append(l.accs, nil)
	}
	l.accs[idx], a.idx = a, idx
}

// removeAcceptor takes a's listener out of the loop's epoll set, if it is there.
func (l *loop) removeAcceptor(a *Acceptor) {
	if a.idx < 0 || int(a.idx) >= len(l.accs) || l.accs[a.idx] != a {
		return
	}
	rawEpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, a.fd, &syscall.EpollEvent{})
	l.accs[a.idx], a.idx = nil, -1
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
	if a.l == l {
		a.l = nil
	}
	closed := a.closed
	if closed {
		a.closeFDLocked()
	}
	a.mu.Unlock()
	if !closed {
		a.h.Yield()
	}
}

// acceptEvent handles the readiness of the listener at index idx.
func (l *loop) acceptEvent(idx int32) {
	if int(idx) < len(l.accs) {
		if a := l.accs[idx]; a != nil {
			l.accept(a)
		}
	}
}

// accept accepts from a's listener until none is waiting (edge-triggered), the handler
// declines, or the budget is used (the loop comes back: acceptAgain).
func (l *loop) accept(a *Acceptor) {
	for i := 0; i < acceptBudget; i++ {
		if !a.h.Admit() {
			l.disarm(a)
			return
		}
		fd, peer, errno := Accept4(a.fd)
		switch errno {
		case 0:
			a.h.Serve(&upConn{fd: fd, ap: peer, home: l})
		case syscall.EAGAIN:
			a.h.Unadmit()
			return
		default: // EMFILE and the like: the handler's Accept sees it, and backs off
			a.h.Unadmit()
			l.disarm(a)
			return
		}
	}
	l.accAgain = append(l.accAgain, a)
}

// retryAccept gives the listeners that used their budget another turn.
func (l *loop) retryAccept() {
	again := l.accAgain
	l.accAgain = l.accAgain[len(l.accAgain):]
	for _, a := range again {
		if a.idx >= 0 && l.accs[a.idx] == a {
			l.accept(a)
		}
	}
	if len(l.accAgain) == 0 {
		l.accAgain = again[:0]
	}
}

// failAcceptors lets the acceptors of a failed loop go: its own and those whose op was in
// its inbox.
func (l *loop) failAcceptors(ops []loopOp) {
	for i, a := range l.accs {
		if a != nil {
			l.accs[i], a.idx = nil, -1
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
