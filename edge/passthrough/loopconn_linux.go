package passthrough

import (
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// loopBudget is how many bytes a direction moves in one turn before the loop's other
// connections get theirs.
const loopBudget = 1 << 20

// loopFill is how much one splice reads into a pipe before it is written out: small
// enough that the destination gets the first bytes early (a 1 MiB fill held bulk
// downloads back, with the client waiting while the pipe filled).
const loopFill = 256 << 10

// lconn is a connection of a loop: side 0 is the client, 1 the upstream; dirs[0] copies
// the client to the upstream, dirs[1] back. rd and wr are each socket's readiness as last
// reported (edge-triggered: true until a system call says EAGAIN).
type lconn struct {
	fds    [2]int
	rd, wr [2]bool
	dirs   [2]ldir
	last   int64 // Unix ns of the last byte moved (or the start)
	idle   time.Duration
	count  func(up bool, n int64)
	done   func(error)
	err    error
	slot   int32
	gen    uint32
	l      *loop
	killed atomic.Bool
}

// ldir is one direction: p holds the bytes read and not yet written (nil when none), eof
// is set once the source ended and the end was passed on.
type ldir struct {
	p   *pipe
	eof bool
}

func (d *ldir) done() bool { return d.eof && d.p == nil }

// pump moves direction i as far as readiness allows, at most loopBudget bytes; more
// reports that the budget ran out with the source still readable.
func (c *lconn) pump(l *loop, i int) (more bool, err error) {
	d, src, dst := &c.dirs[i], i, 1-i
	for moved := 0; ; {
		if d.p != nil {
			if !c.wr[dst] {
				return false, nil
			}
			n, err := drainTo(d.p, c.fds[dst])
			if n > 0 {
				moved += n
				c.last = l.now
				c.count(i == 0, int64(n))
			}
			if err == syscall.EAGAIN {
				c.wr[dst] = false
				return false, nil
			}
			if err != nil {
				return false, os.NewSyscallError("splice", err)
			}
			l.putPipe(d.p)
			d.p = nil
		}
		if d.eof || !c.rd[src] {
			return false, nil
		}
		if moved >= loopBudget {
			return true, nil
		}
		p := l.getPipe()
		if p.r < 0 {
			return false, errNoPipe
		}
		n, err := fillFrom(p, c.fds[src])
		switch {
		case err == syscall.EAGAIN:
			c.rd[src] = false
			l.putPipe(p)
			return false, nil
		case err != nil:
			l.putPipe(p)
			return false, os.NewSyscallError("splice", err)
		case n == 0:
			l.putPipe(p)
			// Pass the half-close on (also when the other way has ended: done's Close
			// would send the FIN, with the scheduler told, see rawsys_linux.go).
			d.eof = true
			rawShutdown(c.fds[dst], syscall.SHUT_WR)
			return false, nil
		}
		d.p = p
	}
}

// fillFrom splices what src has, up to loopFill bytes, into the empty pipe p.
func fillFrom(p *pipe, src int) (int, error) {
	for {
		n, err := rawSplice(src, p.w, loopFill, spliceNonblock)
		switch err {
		case syscall.EINTR:
			continue
		case 0:
			p.buffered = n
			return n, nil
		}
		return 0, err
	}
}

// drainTo splices p's bytes to dst until p is empty or dst is full (EAGAIN).
func drainTo(p *pipe, dst int) (moved int, err error) {
	for p.buffered > 0 {
		n, err := rawSplice(p.r, dst, p.buffered, spliceNonblock)
		switch err {
		case syscall.EINTR:
			continue
		case 0:
		default:
			return moved, err
		}
		p.buffered -= int(n)
		moved += int(n)
	}
	return moved, nil
}

// Loop is a connection handed to an event loop by Start.
type Loop struct {
	c   *lconn
	gen uint32
}

// Kill ends the connection (done is called with net.ErrClosed) unless it ended already.
func (h Loop) Kill() {
	l := h.c.l
	l.mu.Lock()
	if l.conns[h.c.slot] == h.c && h.c.gen == h.gen {
		h.c.killed.Store(true)
	}
	l.mu.Unlock()
	one := [8]byte{1}
	syscall.Write(l.wake, one[:])
}

// Start hands client and upstream to an event loop, which copies both ways as Pipe does
// (splice, half-close passed on, count called with the bytes moved, up for client to
// upstream), and returns at once. The connection ends when both directions ended (err
// nil), one failed, it was idle for idle (ErrIdle: no byte moved either way), or it was
// killed (net.ErrClosed); done is then called with that error, from the loop's goroutine:
// it must close both connections, and not block. Until then nothing else may close them.
// ok is false when the connections are not TCP sockets or no loop could be made: use
// Pipe.
func Start(client, upstream net.Conn, idle time.Duration, count func(up bool, n int64), done func(error)) (h Loop, ok bool) {
	l := pickLoop()
	if l == nil {
		return Loop{}, false
	}
	cfd, ok := sockFD(client)
	if !ok {
		return Loop{}, false
	}
	ufd, ok := sockFD(upstream)
	if !ok {
		return Loop{}, false
	}
	c := &lconn{fds: [2]int{cfd, ufd}, idle: idle, count: count, done: done, l: l}
	l.add(c)
	for side, fd := range c.fds {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | epollET,
			Fd: c.slot, Pad: int32(c.gen<<1) | int32(side)}
		if err := rawEpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != 0 {
			// The slot is taken: end it through the loop, as a kill does.
			h := Loop{c, c.gen}
			h.Kill()
			return h, true
		}
	}
	return Loop{c, c.gen}, true
}

// add gives c a slot of l.
func (l *loop) add(c *lconn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		c.slot = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		c.slot = int32(len(l.conns))
		l.conns = append(l.conns, nil)
	}
	l.gen++
	c.gen = l.gen & (1<<30 - 1)
	c.last = time.Now().UnixNano()
	l.conns[c.slot] = c
	iv := min(max(c.idle/4, 5*time.Millisecond), loopSweepMax)
	if len(l.conns)-len(l.free) == 1 || iv < l.min {
		l.min = iv
	}
	if at := time.Now().Add(l.min); l.sweepAt.IsZero() || at.Before(l.sweepAt) {
		l.sweepAt = at
		l.ep.SetReadDeadline(at)
	}
}

// sockFD returns the descriptor of c's socket (its fd stays c's: only done closes it).
func sockFD(c net.Conn) (int, bool) {
	if uc, ok := c.(*upConn); ok {
		if fd, ok := uc.loopFD(); ok {
			return fd, true
		}
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if rc.Control(func(u uintptr) { fd = int(u) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}
