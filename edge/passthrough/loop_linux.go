package passthrough

import (
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// An event loop copies the bytes of many passthrough connections, the way HAProxy does:
// one goroutine per loop (GOMAXPROCS loops: loopCount) waits on an epoll instance
// holding both sockets of each of its connections, edge-triggered, and splices whichever
// side is ready through a kernel pipe. Pipe's two goroutines per connection cost two netpoll wake-ups
// and goroutine switches for each exchange, and a failed splice before each wait; the
// loop costs none of them, and a batch of events is handled in one wake-up. The loop's
// epoll descriptor is itself registered with Go's poller (an epoll descriptor is readable
// while it has events), so an idle loop is a parked goroutine, not a blocked thread.
//
// Only the loop's goroutine touches its connections' state: their slots in its table,
// readiness, pipes, and every change to their registration with epoll but the first.
// Start registers both sockets itself (epoll_ctl is safe from any thread), so a new
// connection costs the loop no doorbell and no wake-up before its first bytes: under the
// loop's mutex it takes a slot and a generation for the connection (the epoll data of
// its events), puts the connection in the inbox and sets pending, then adds both sockets,
// and only then lets the mutex go. The loop takes ownership when it takes the inbox: on
// an event whose slot and generation its table does not hold while pending is set (the
// mutex makes it wait for the registration in progress), or on the doorbell. So no event
// reaches a connection half registered, and none is lost: pending is set before the
// first socket is added, and a slot's generation tells a new connection's events from
// those of the one that had the slot before (ended earlier in the batch). A connection
// no event comes for (neither side sends) is taken by the loop's next idle sweep: Start
// rings the doorbell when the loop has no sweep set, or one too far apart for the
// connection's idle timeout (sweepIv). Kill and fail post to the inbox (a slice under
// the mutex, held for an append and, by Start, for the two epoll_ctl of a registration;
// never by the loop across a system call) and ring the doorbell, an eventfd in the
// epoll set.
//
// Sockets are registered for input (and the peer's end) only: a new connection's sockets
// are writable, and registering for output as well would wake the loop at once for
// nothing. A direction whose destination is full (a write fails with EAGAIN) adds output
// to that socket's registration (EPOLL_CTL_MOD, once per socket), which reports the
// readiness again when it came back meanwhile.

// loopSweepMax bounds the interval of a loop's idle sweep.
const loopSweepMax = 500 * time.Millisecond

// loop is one event loop. The fields above mu are the loop goroutine's alone.
type loop struct {
	epfd     int
	ep       *os.File // epfd, registered with the runtime poller
	rc       syscall.RawConn
	wake     int // eventfd: the inbox's doorbell
	index    int // the loop's place in loopSet
	events   [128]syscall.EpollEvent
	waitFn   func(uintptr) bool
	spare    *pipe         // an empty pipe for the next splice
	spareBuf *pipe         // an empty buffer for the next small read
	again    []*lconn      // connections that used their budget with bytes left to move
	ended    []*lconn      // connections finished in this batch (done is called after it)
	ops      []loopOp      // the inbox taken, being handled
	now      int64         // Unix ns, read once per batch
	sweepAt  int64         // Unix ns of the next idle sweep (0: none)
	conns    []*lconn      // by slot
	freed    []int32       // slots freed since the inbox was last taken
	live     int           // connections in conns
	min      time.Duration // the sweep interval: a quarter of the smallest idle timeout
	failErr  error         // why wait gave up (epoll_pwait failed, or a fail op)
	accs     []accSlot     // the listeners it accepts from (acceptor_linux.go)
	accAgain []*Acceptor   // listeners that used their accept budget with connections left

	// mu guards the fields below: held for an append or a swap, and by register across
	// a new connection's two epoll_ctl (see above); never by the loop across a system call.
	mu      sync.Mutex
	inbox   []loopOp
	free    []int32      // free slots (given back by the loop when it takes the inbox)
	slots   int32        // slots handed out so far, free or not
	gen     uint32       // the last generation given to a connection
	pending atomic.Bool  // the inbox holds connections registered and not taken yet
	sweepIv atomic.Int64 // the sweep interval (ns), for register; 0: no sweep set
	dead    atomic.Bool  // set under mu by fail: post and register refuse, pickLoop replaces the loop
}

// loopOp is a message to a loop: a connection to add, a connection to kill, an Acceptor
// to arm or (kill) close, or (tests) an error to fail with.
type loopOp struct {
	c    *lconn
	acc  *Acceptor
	kill bool
	fail error
}

// newLoop makes a loop's epoll instance and doorbell.
func newLoop(index int) (*loop, error) {
	if err := loopFault(); err != nil {
		return nil, err
	}
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
	l := &loop{epfd: epfd, ep: os.NewFile(uintptr(epfd), "epoll"), wake: int(wake), index: index}
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

// post gives op (a kill, or a test's fail) to the loop and rings the doorbell. It
// reports false when the loop is dead.
func (l *loop) post(op loopOp) bool {
	l.mu.Lock()
	if l.dead.Load() {
		l.mu.Unlock()
		return false
	}
	l.inbox = append(l.inbox, op)
	l.mu.Unlock()
	l.ring()
	return true
}

// ring rings the doorbell.
func (l *loop) ring() {
	one := [8]byte{1}
	rawWrite(l.wake, one[:])
}

// run handles the loop's events until the loop fails.
func (l *loop) run() {
	for {
		err := l.rc.Read(l.waitFn)
		if l.failErr != nil {
			err = l.failErr
		}
		if err != nil && !os.IsTimeout(err) {
			l.fail(err)
			return
		}
		l.now = time.Now().UnixNano()
		l.sweep()
		l.finishEnded()
	}
}

// wait is the RawConn.Read callback: it handles events until there are none (false:
// the poller waits for the next), or the loop failed (true, failErr set).
func (l *loop) wait(fd uintptr) bool {
	for {
		n, errno := rawEpollWait(int(fd), l.events[:])
		switch {
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			l.failErr = os.NewSyscallError("epoll_pwait", errno)
			return true
		case n == 0 && len(l.again) == 0 && len(l.accAgain) == 0:
			return false
		}
		l.now = time.Now().UnixNano()
		for _, ev := range l.events[:n] {
			l.event(ev)
		}
		l.retry()
		l.retryAccept()
		if l.sweepAt != 0 && l.now >= l.sweepAt {
			l.sweep()
		}
		l.finishEnded()
		if l.failErr != nil {
			return true
		}
	}
}

// event handles one event: the doorbell, a listener's readiness, or readiness of a
// connection's socket.
func (l *loop) event(ev syscall.EpollEvent) {
	if ev.Fd == accFd {
		l.acceptEvent(ev.Pad)
		return
	}
	if ev.Fd < 0 {
		var b [8]byte
		rawRead(l.wake, b[:])
		l.takeInbox()
		return
	}
	c := l.lookup(ev.Fd, uint32(ev.Pad)>>1)
	if c == nil {
		return // a connection ended earlier in this batch, its slot maybe reused
	}
	side := ev.Pad & 1
	if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		c.rd[side] = true
	}
	if ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		c.hup[side] = true
	}
	if ev.Events&(syscall.EPOLLOUT|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		c.wr[side] = true
	}
	if h := loopHooks.Load(); h != nil && h.event != nil {
		h.event(c)
	}
	l.run1(c)
}

// lookup returns the connection of an event's slot and generation, taking the inbox
// first when the table has none and connections registered by Start are pending; nil
// for an event of a connection that ended.
func (l *loop) lookup(slot int32, gen uint32) *lconn {
	for took := false; ; took = true {
		if int(slot) < len(l.conns) {
			if c := l.conns[slot]; c != nil && c.gen == gen {
				return c
			}
		}
		if took || !l.pending.Load() {
			return nil
		}
		l.takeInbox()
	}
}

// takeInbox handles the ops posted since the last time, and gives the slots freed
// meanwhile back.
func (l *loop) takeInbox() {
	l.mu.Lock()
	l.ops, l.inbox = l.inbox, l.ops[:0]
	l.pending.Store(false)
	l.free = append(l.free, l.freed...)
	l.mu.Unlock()
	l.freed = l.freed[:0]
	for i, op := range l.ops {
		switch {
		case op.fail != nil:
			l.failErr = op.fail
		case op.acc != nil:
			l.acceptorOp(op.acc, op.kill)
		case op.kill:
			if op.c.slot >= 0 && int(op.c.slot) < len(l.conns) && l.conns[op.c.slot] == op.c {
				l.end(op.c, net.ErrClosed)
			}
		default:
			l.add(op.c)
		}
		l.ops[i] = loopOp{}
	}
}

// retry gives the connections that used their budget another turn.
func (l *loop) retry() {
	again := l.again
	l.again = l.again[len(l.again):]
	for _, c := range again {
		if c.slot >= 0 && l.conns[c.slot] == c {
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
