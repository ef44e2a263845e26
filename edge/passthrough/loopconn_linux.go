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
// reported (edge-triggered: true until a system call says EAGAIN, or a short read into
// user space says the socket is empty; wr starts true, a new connection's sockets being
// writable), out whether the socket's registration includes output (armOut), hup
// whether the peer's end (or an error) was reported. rawClose is set for a socket whose
// Close is close(2) made without the scheduler (an upConn): closing it passes the end on
// as shutdown(2) would. All fields but l, killed and those set by Start (and slot, gen
// and err, set by register under the loop's mutex) are the loop goroutine's.
type lconn struct {
	fds      [2]int
	rd, wr   [2]bool
	out      [2]bool
	hup      [2]bool
	rawClose [2]bool
	dirs     [2]ldir
	last     int64 // Unix ns of the last byte moved (or of Start)
	idle     time.Duration
	count    func(up bool, n int64)
	done     func(error)
	err      error
	slot     int32 // -1 until added, and once ended
	gen      uint32
	l        *loop
	killed   atomic.Bool
}

// ldir is one direction: p holds the bytes read and not yet written (nil when none), eof
// is set once the source ended and the end was passed on. user is the direction's
// user-space buffer once no pipe could be had for it: the direction copies through it
// from then on. bulk is set once a small read filled its buffer (loopsmall_linux.go):
// the direction splices from then on.
type ldir struct {
	p    *pipe
	user *pipe
	eof  bool
	bulk bool
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
			n, err := d.p.drainTo(l, c.fds[dst])
			if n > 0 {
				moved += n
				c.last = l.now
				c.count(i == 0, int64(n))
			}
			if err == syscall.EAGAIN {
				c.wr[dst] = false
				return false, l.armOut(c, dst)
			}
			if err != 0 {
				return false, os.NewSyscallError("splice", err)
			}
			d.release(l)
		}
		if d.eof || !c.rd[src] || c.killed.Load() {
			return false, nil
		}
		if moved >= loopBudget {
			return true, nil
		}
		if err := c.fill(l, d, src, dst); err != nil || d.p == nil {
			return false, err
		}
	}
}

// fill reads what src has into a small buffer until d's bulk starts, then into a pipe,
// or d's user-space buffer once there is no pipe for d (d.p nil when nothing was read:
// src not ready, or ended).
func (c *lconn) fill(l *loop, d *ldir, src, dst int) error {
	p := d.user
	switch {
	case p != nil:
	case !d.bulk:
		p = l.getBuf()
	default:
		if p = l.getPipe(); p == nil {
			noPipe()
			p = newUserPipe()
			d.user = p
		}
	}
	n, err := p.fillFrom(l, c.fds[src])
	switch {
	case err == syscall.EAGAIN:
		c.rd[src] = false
	case err != 0:
		d.p = p
		d.release(l)
		return os.NewSyscallError("splice", err)
	case n == 0:
		// Pass the half-close on. When the other way has ended too, done's Close sends
		// the FIN, without the scheduler for an upConn; a *net.TCPConn's Close tells the
		// scheduler, see rawsys_linux.go: the FIN goes out here.
		d.eof = true
		if !c.dirs[dst].done() || !c.rawClose[dst] {
			rawShutdown(c.fds[dst], syscall.SHUT_WR)
		}
	default:
		if p.buf != nil {
			c.readShort(d, p, src, n)
		}
		d.p = p
		return nil
	}
	d.p = p
	d.release(l)
	return nil
}

// release gives d's empty pipe back to the loop (a user-space buffer stays d's).
func (d *ldir) release(l *loop) {
	if d.p != d.user {
		l.putPipe(d.p)
	}
	d.p = nil
}

// fillFrom reads what src has, up to loopFill bytes, into the empty pipe p: splice(2),
// or read(2) into a user-space buffer.
func (p *pipe) fillFrom(l *loop, src int) (n int, err syscall.Errno) {
	h := loopHooks.Load()
	if h != nil && h.splice != nil {
		h.splice(l)
	}
	for {
		if p.buf != nil {
			n, err = rawRead(src, p.buf)
		} else {
			n, err = rawSplice(src, p.w, loopFill, spliceNonblock)
		}
		if err != syscall.EINTR {
			break
		}
	}
	if h != nil && h.fill != nil {
		h.fill(p, n, err)
	}
	if err != 0 {
		return 0, err
	}
	p.buffered, p.off = n, 0
	return n, 0
}

// drainTo writes p's bytes to dst until p is empty or dst is full (EAGAIN).
func (p *pipe) drainTo(l *loop, dst int) (moved int, err syscall.Errno) {
	if h := loopHooks.Load(); h != nil && h.splice != nil {
		h.splice(l)
	}
	for p.buffered > 0 {
		var n int
		if p.buf != nil {
			n, err = rawWrite(dst, p.buf[p.off:p.off+p.buffered])
		} else {
			n, err = rawSplice(p.r, dst, p.buffered, spliceNonblock)
		}
		switch err {
		case syscall.EINTR:
			continue
		case 0:
		default:
			return moved, err
		}
		p.buffered -= n
		p.off += n
		moved += n
	}
	return moved, 0
}

// Loop is a connection handed to an event loop by Start.
type Loop struct {
	c *lconn
}

// Kill ends the connection (done is called with net.ErrClosed) unless it ended already.
// It does not wait for the end.
func (h Loop) Kill() {
	if h.c == nil || h.c.killed.Swap(true) {
		return
	}
	h.c.l.post(loopOp{c: h.c, kill: true}) // false: the loop failed, and ended h.c
}

// Start hands client and upstream to an event loop (the one that accepted client, when
// one did: Acceptor), which copies both ways as Pipe does (small transfers through user
// space, then splice; half-close passed on; count called with the bytes moved, up for
// client to upstream), and returns at once. The connection ends when both directions
// ended (err nil), one failed, it was idle for idle (ErrIdle: no byte moved either way),
// it was killed (net.ErrClosed), or its loop failed; done is then called with that error,
// from the loop's goroutine: it must close both connections, and not block (the end of
// the direction that ended last is passed on by that Close when its destination is an
// upConn). Until then nothing else may close them. ok is false when the connections are
// not TCP sockets or no loop can be had now: use Pipe.
func Start(client, upstream net.Conn, idle time.Duration, count func(up bool, n int64), done func(error)) (h Loop, ok bool) {
	cfd, ok := sockFD(client)
	if !ok {
		return Loop{}, false
	}
	ufd, ok := sockFD(upstream)
	if !ok {
		return Loop{}, false
	}
	l := homeLoop(client)
	if l == nil {
		return Loop{}, false
	}
	c := &lconn{fds: [2]int{cfd, ufd}, wr: [2]bool{true, true}, idle: idle, count: count, done: done, l: l, slot: -1,
		last: time.Now().UnixNano()}
	_, c.rawClose[0] = client.(*upConn)
	_, c.rawClose[1] = upstream.(*upConn)
	if !l.register(c) {
		return Loop{}, false
	}
	// The loop has them: an upConn never makes its *os.File now. Not before the post:
	// refused, the caller's Pipe needs it (nothing else uses the connections meanwhile).
	claim(client)
	claim(upstream)
	return Loop{c}, true
}

// homeLoop returns the loop that accepted client, while it lives, else the next loop
// (pickLoop).
func homeLoop(client net.Conn) *loop {
	if uc, ok := client.(*upConn); ok && uc.home != nil && !uc.home.dead.Load() {
		return uc.home
	}
	return pickLoop()
}

// claim marks c, when an upConn, as its descriptor's for good (no *os.File made later).
func claim(c net.Conn) {
	if uc, ok := c.(*upConn); ok {
		uc.loopFD()
	}
}

// sockFD returns the descriptor of c's socket (its fd stays c's: only done closes it),
// without deciding anything (an upConn's is claimed once a loop has it).
func sockFD(c net.Conn) (int, bool) {
	if uc, ok := c.(*upConn); ok {
		if fd, ok := uc.rawFD(); ok {
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
