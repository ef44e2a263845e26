package passthrough

import (
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"
)

// The connection table of a loop: registering a connection with epoll (Start's
// goroutine, see loop_linux.go), adding it to the table, ending one, the idle sweep, and
// the end of a loop that failed. All but register runs on the loop's goroutine.

// epollIn is what a connection's sockets are registered for at first: input and the
// peer's end, edge-triggered (output once a write would block: armOut).
const epollIn = syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET

// register gives c a slot and a generation of l, puts it in the inbox and registers both
// its sockets with l's epoll instance, all under l.mu; false when the loop is dead. When
// a registration fails, c is still the loop's: it ends with the error (the doorbell
// rings, as no event may come).
func (l *loop) register(c *lconn) bool {
	l.mu.Lock()
	if l.dead.Load() {
		l.mu.Unlock()
		return false
	}
	if n := len(l.free); n > 0 {
		c.slot = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		c.slot = l.slots
		l.slots++
	}
	l.gen++
	c.gen = l.gen & (1<<30 - 1)
	l.inbox = append(l.inbox, loopOp{c: c})
	l.pending.Store(true) // before the first event can come
	for side, fd := range c.fds {
		ev := syscall.EpollEvent{Events: epollIn, Fd: c.slot, Pad: int32(c.gen<<1) | int32(side)}
		if errno := rawEpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); errno != 0 {
			if side == 1 {
				rawEpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, c.fds[0], &ev)
			}
			c.err = os.NewSyscallError("epoll_ctl", errno)
			break
		}
		if h := loopHooks.Load(); h != nil && h.registered != nil {
			h.registered(c, side)
		}
	}
	failed := c.err != nil
	l.mu.Unlock()
	// No event may come for a while (neither side sends): the loop must take c by its
	// next sweep, soon enough for c's idle timeout. The loop stores sweepIv before it
	// looks at pending, c is pending before this load: either the loop takes c then,
	// or this sees the interval it has (0: no sweep set) and rings.
	if iv := l.sweepIv.Load(); failed || iv == 0 || int64(sweepInterval(c.idle)) < iv {
		l.ring()
	}
	return true
}

// armOut adds output to the registration of c's socket side, once: a write to it would
// block. The readiness is reported again if it came back since.
func (l *loop) armOut(c *lconn, side int) error {
	if c.out[side] {
		return nil
	}
	c.out[side] = true
	if h := loopHooks.Load(); h != nil && h.armed != nil {
		h.armed(c, side)
	}
	ev := syscall.EpollEvent{Events: epollIn | syscall.EPOLLOUT, Fd: c.slot, Pad: int32(c.gen<<1) | int32(side)}
	if errno := rawEpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, c.fds[side], &ev); errno != 0 {
		return os.NewSyscallError("epoll_ctl", errno)
	}
	return nil
}

// add puts c, registered by Start, in l's table; c ends at once when its registration
// failed.
func (l *loop) add(c *lconn) {
	for int(c.slot) >= len(l.conns) {
		l.conns = append(l.conns, nil)
	}
	l.conns[c.slot] = c
	l.live++
	if err := c.err; err != nil {
		l.end(c, err)
		return
	}
	iv := sweepInterval(c.idle)
	if l.live == 1 || iv < l.min {
		l.min = iv
	}
	if at := l.now + int64(l.min); l.sweepAt == 0 || at < l.sweepAt {
		l.setSweep(at)
	}
}

// sweepInterval is the sweep interval a connection with the idle timeout idle needs: it
// ends between idle and 1.25 idle after its last byte.
func sweepInterval(idle time.Duration) time.Duration {
	return min(max(idle/4, 5*time.Millisecond), loopSweepMax)
}

// setSweep sets the next sweep's time (Unix ns, 0: none) and the poller's deadline for
// it, and publishes the sweep interval for register (0: no sweep).
func (l *loop) setSweep(at int64) {
	l.sweepAt = at
	if at == 0 {
		l.sweepIv.Store(0)
		l.ep.SetReadDeadline(time.Time{})
		return
	}
	l.sweepIv.Store(int64(l.min))
	l.ep.SetReadDeadline(time.Unix(0, at))
}

// sweep ends the connections idle for their timeout, sets the next sweep's time from the
// smallest idle timeout of those left, then takes the connections registered meanwhile
// (register rang the doorbell for none of them: they count on this sweep).
func (l *loop) sweep() {
	var iv time.Duration
	for _, c := range l.conns {
		switch {
		case c == nil:
		case l.now-c.last > int64(c.idle):
			l.end(c, ErrIdle)
		case iv == 0 || sweepInterval(c.idle) < iv:
			iv = sweepInterval(c.idle)
		}
	}
	l.min = iv
	if l.live == 0 {
		l.setSweep(0)
	} else {
		l.setSweep(l.now + int64(iv))
	}
	if l.pending.Load() {
		l.takeInbox()
	}
}

// end removes c from the loop; its done is called once the batch is over.
func (l *loop) end(c *lconn, err error) {
	if c.slot < 0 || l.conns[c.slot] != c {
		return
	}
	l.conns[c.slot] = nil
	l.freed = append(l.freed, c.slot)
	l.live--
	c.slot = -1
	c.err = err
	for i := range c.dirs {
		if p := c.dirs[i].p; p != nil {
			c.dirs[i].p = nil
			l.putPipe(p)
		}
	}
	l.ended = append(l.ended, c)
}

// finishEnded calls the done of the connections ended in the last batch (after it: done
// closes the sockets, whose descriptors may then be reused by connections of this batch).
func (l *loop) finishEnded() {
	for i, c := range l.ended {
		l.ended[i] = nil
		c.done(c.err)
	}
	l.ended = l.ended[:0]
}

// fail ends a loop whose epoll instance failed: it takes no more ops, its connections
// and those posted to it end with err, its descriptors are closed, and pickLoop makes a
// new loop in its place after loopRetry (connections use Pipe meanwhile).
func (l *loop) fail(err error) {
	l.mu.Lock()
	l.dead.Store(true)
	ops := l.inbox
	l.inbox = nil
	l.mu.Unlock()
	loopFailed(l.index)
	logWarn("passthrough: event loop failed; connections use goroutines until it is made again",
		slog.Int("loop", l.index), slog.Int("connections", l.live), slog.Any("error", err))
	err = fmt.Errorf("passthrough: event loop failed: %w", err)
	for _, op := range ops {
		if op.c != nil && !op.kill {
			op.c.err = err
			l.ended = append(l.ended, op.c)
		}
	}
	for _, c := range l.conns {
		if c != nil {
			l.end(c, err)
		}
	}
	l.finishEnded()
	l.failAcceptors(ops)
	l.ep.Close()
	syscall.Close(l.wake)
}

// getPipe returns an empty pipe: the loop's spare, or a pooled one; nil when no pipe
// could be made.
func (l *loop) getPipe() *pipe {
	if p := l.spare; p != nil && !pipeFault.Load() {
		l.spare = nil
		return p
	}
	return getPipe()
}

// putPipe takes back a pipe a direction no longer needs: kept as the spare if empty,
// pooled, or closed when bytes are stuck in it. A small read's buffer goes back to the
// loop (putBuf); a direction's own user-space buffer is dropped.
func (l *loop) putPipe(p *pipe) {
	switch {
	case p.small:
		l.putBuf(p)
	case p.buf != nil:
	case p.buffered > 0 || p.r < 0:
		p.close()
	case l.spare == nil:
		l.spare = p
	default:
		pipes.Put(p)
	}
}
