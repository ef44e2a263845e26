package passthrough

import (
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"
)

// The connection table of a loop: adding a connection (its registration with epoll),
// ending one, the idle sweep, and the end of a loop that failed. All of it runs on the
// loop's goroutine.

// add gives c a slot of l and registers both its sockets with l's epoll instance; when
// that fails, c ends with the error.
func (l *loop) add(c *lconn) {
	if n := len(l.free); n > 0 {
		c.slot = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		c.slot = int32(len(l.conns))
		l.conns = append(l.conns, nil)
	}
	l.gen++
	c.gen = l.gen & (1<<30 - 1)
	c.last = l.now
	l.conns[c.slot] = c
	l.live++
	for side, fd := range c.fds {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | epollET,
			Fd: c.slot, Pad: int32(c.gen<<1) | int32(side)}
		if errno := rawEpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); errno != 0 {
			if side == 1 {
				rawEpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, c.fds[0], &ev)
			}
			l.end(c, os.NewSyscallError("epoll_ctl", errno))
			return
		}
		if h := loopHooks.Load(); h != nil && h.registered != nil {
			h.registered(c, side)
		}
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

// setSweep sets the next sweep's time (Unix ns, 0: none) and the poller's deadline for it.
func (l *loop) setSweep(at int64) {
	l.sweepAt = at
	if at == 0 {
		l.ep.SetReadDeadline(time.Time{})
		return
	}
	l.ep.SetReadDeadline(time.Unix(0, at))
}

// sweep ends the connections idle for their timeout, and sets the next sweep's time from
// the smallest idle timeout of those left.
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
		return
	}
	l.setSweep(l.now + int64(iv))
}

// end removes c from the loop; its done is called once the batch is over.
func (l *loop) end(c *lconn, err error) {
	if c.slot < 0 || l.conns[c.slot] != c {
		return
	}
	l.conns[c.slot] = nil
	l.free = append(l.free, c.slot)
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
