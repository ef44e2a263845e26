package passthrough

import (
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// An event loop copies the bytes of many passthrough connections, the way HAProxy does:
// one goroutine per loop (GOMAXPROCS loops) waits on an epoll instance holding both
// sockets of each of its connections, edge-triggered, and splices whichever side is ready
// through a kernel pipe. Pipe's two goroutines per connection cost two netpoll wake-ups
// and goroutine switches for each exchange, and a failed splice before each wait; the
// loop costs none of them, and a batch of events is handled in one wake-up. The loop's
// epoll descriptor is itself registered with Go's poller (an epoll descriptor is readable
// while it has events), so an idle loop is a parked goroutine, not a blocked thread.

// loopSweepMax bounds the interval of a loop's idle sweep.
const loopSweepMax = 500 * time.Millisecond

// loop is one event loop.
type loop struct {
	epfd    int
	ep      *os.File // epfd, registered with the runtime poller
	rc      syscall.RawConn
	wake    int // eventfd: Kill's doorbell
	events  [128]syscall.EpollEvent
	waitFn  func(uintptr) bool
	spare   *pipe     // an empty pipe for the next splice
	again   []*lconn  // connections that used their budget with bytes left to move
	ended   []*lconn  // connections finished in this batch (done is called unlocked)
	now     int64     // Unix ns, read once per batch
	sweepAt time.Time // when the next idle sweep is due (zero: none)

	mu    sync.Mutex // guards conns, free, minIdle; held while a batch is handled
	conns []*lconn
	free  []int32
	min   time.Duration // the sweep interval: a quarter of the smallest idle timeout
	gen   uint32        // the last generation given to a connection
}

var (
	loopsOnce sync.Once
	loops     []*loop
	loopNext  atomic.Uint32
)

// pickLoop returns the next loop, round robin, starting them on first use; nil when
// they could not be made (too many open files), and Pipe is used instead.
func pickLoop() *loop {
	loopsOnce.Do(func() {
		for range runtime.GOMAXPROCS(0) {
			l, err := newLoop()
			if err != nil {
				return
			}
			loops = append(loops, l)
			go l.run()
		}
	})
	if len(loops) == 0 {
		return nil
	}
	return loops[int(loopNext.Add(1))%len(loops)]
}

// newLoop makes a loop's epoll instance and doorbell.
func newLoop() (*loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wake, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("eventfd2", errno)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | epollET, Fd: -1}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, int(wake), &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(int(wake))
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	syscall.SetNonblock(epfd, true)
	l := &loop{epfd: epfd, ep: os.NewFile(uintptr(epfd), "epoll"), wake: int(wake)}
	if l.rc, err = l.ep.SyscallConn(); err != nil {
		l.ep.Close()
		syscall.Close(l.wake)
		return nil, err
	}
	l.waitFn = l.wait
	return l, nil
}

// epollET is EPOLLET as the uint32 of EpollEvent.Events.
const epollET = 1 << 31

// run handles the loop's events for ever.
func (l *loop) run() {
	for {
		err := l.rc.Read(l.waitFn)
		if err != nil && !os.IsTimeout(err) {
			return // the loop's descriptor is gone: nothing else closes it
		}
		l.mu.Lock()
		l.now = time.Now().UnixNano()
		l.sweep(false)
		l.mu.Unlock()
		l.finishEnded()
	}
}

// wait is the RawConn.Read callback: it handles events until there are none (false:
// the poller waits for the next), then returns.
func (l *loop) wait(fd uintptr) bool {
	for {
		n, err := rawEpollWait(int(fd), l.events[:])
		if err == syscall.EINTR {
			continue
		}
		if n <= 0 && len(l.again) == 0 {
			return false
		}
		l.mu.Lock()
		l.now = time.Now().UnixNano()
		for _, ev := range l.events[:max(n, 0)] {
			l.event(ev)
		}
		l.retry()
		if !l.sweepAt.IsZero() && l.now >= l.sweepAt.UnixNano() {
			l.sweep(false)
		}
		l.mu.Unlock()
		l.finishEnded()
	}
}

// event handles one event: the doorbell, or readiness of a connection's socket.
func (l *loop) event(ev syscall.EpollEvent) {
	if ev.Fd < 0 {
		var b [8]byte
		syscall.Read(l.wake, b[:])
		l.sweep(true)
		return
	}
	c := l.conns[ev.Fd]
	if c == nil || c.gen != uint32(ev.Pad)>>1 {
		return // a connection ended earlier in this batch, its slot maybe reused
	}
	side := ev.Pad & 1
	if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		c.rd[side] = true
	}
	if ev.Events&(syscall.EPOLLOUT|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		c.wr[side] = true
	}
	l.run1(c)
}

// retry gives the connections that used their budget another turn.
func (l *loop) retry() {
	again := l.again
	l.again = l.again[len(l.again):]
	for _, c := range again {
		if l.conns[c.slot] == c {
			l.run1(c)
		}
	}
	if len(l.again) == 0 {
		l.again = again[:0]
	}
}

// run1 moves what it can of both directions of c, and ends it when both are done or
// one failed.
func (l *loop) run1(c *lconn) {
	budget := false
	for i := range c.dirs {
		more, err := c.pump(l, i)
		if err != nil {
			l.end(c, err)
			return
		}
		budget = budget || more
	}
	if c.dirs[0].done() && c.dirs[1].done() {
		l.end(c, nil)
		return
	}
	if budget {
		l.again = append(l.again, c)
	}
}

// sweep ends the connections killed (kills) or idle for their timeout, and sets the
// next sweep's time.
func (l *loop) sweep(kills bool) {
	for _, c := range l.conns {
		switch {
		case c == nil:
		case c.killed.Load():
			l.end(c, net.ErrClosed)
		case !kills && l.now-c.last > int64(c.idle):
			l.end(c, ErrIdle)
		}
	}
	if kills {
		return
	}
	l.sweepAt = time.Time{}
	if len(l.conns) > len(l.free) {
		l.sweepAt = time.Unix(0, l.now).Add(l.min)
	}
	l.ep.SetReadDeadline(l.sweepAt)
}

// end removes c from the loop; its done is called once the batch is over.
func (l *loop) end(c *lconn, err error) {
	if l.conns[c.slot] != c {
		return
	}
	l.conns[c.slot] = nil
	l.free = append(l.free, c.slot)
	c.err = err
	for i := range c.dirs {
		if p := c.dirs[i].p; p != nil {
			c.dirs[i].p = nil
			l.putPipe(p)
		}
	}
	l.ended = append(l.ended, c)
}

// finishEnded calls the done of the connections ended in the last batch (unlocked: done
// closes the connections, and may take its time).
func (l *loop) finishEnded() {
	for i, c := range l.ended {
		l.ended[i] = nil
		c.done(c.err)
	}
	l.ended = l.ended[:0]
}

// getPipe returns an empty pipe: the loop's spare, or a pooled one.
func (l *loop) getPipe() *pipe {
	if p := l.spare; p != nil {
		l.spare = nil
		return p
	}
	return pipes.Get().(*pipe)
}

// putPipe takes back a pipe a direction no longer needs: kept as the spare if empty,
// pooled, or closed when bytes are stuck in it.
func (l *loop) putPipe(p *pipe) {
	switch {
	case p.buffered > 0 || p.r < 0:
		p.close()
	case l.spare == nil:
		l.spare = p
	default:
		pipes.Put(p)
	}
}
