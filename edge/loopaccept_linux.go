package edge

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/edgectl/edge/edge/passthrough"
)

// loopAccept has the event loops accept from the HTTPS listener while the snapshot has
// passthrough sites (passthrough.Acceptor: one loop at a time; with 4 loops or more each in
// turn for a few connections, so that every loop holds its share): the loop accepts, reads the
// ClientHello that has arrived (TCP_DEFER_ACCEPT), routes it, and a connection for a
// passthrough site is opened and registered with that same loop, on its goroutine
// (servePassthroughEarly): no goroutine wakes up for it but the loop, which serves a
// batch of new connections and the bytes of the open ones in one wake-up. Every other connection (a terminated or
// unknown name, a ClientHello not whole yet, too large or malformed) is queued, with the
// bytes read, for Accept to return (handedConn): the slow path, as from earlyListener.
//
// The connection limit holds: the loop takes a slot before each accept, and gives the
// listener back to Accept when there is none (or the snapshot has no passthrough site any
// more, or an accept failed): Accept then takes the next connection itself, as without
// the loop (limitListener's Accept waits for a slot), and arms the loop again after it.
type loopAccept struct {
	*limitListener
	s       *Server
	acc     *passthrough.Acceptor
	yielded atomic.Bool   // the loop gave the listener back
	signal  chan struct{} // a connection queued, or the loop yielded
	done    chan struct{} // closed by Close
	once    sync.Once

	mu     sync.Mutex
	queue  []*handedConn
	closed bool
}

// newLoopAccept returns l accepting through an event loop while passthrough sites are
// served; l itself when it does not accept raw (rawListener: no PROXY protocol).
func (s *Server) newLoopAccept(l *limitListener) net.Listener {
	rl, ok := l.Listener.(*rawListener)
	if !ok {
		return l
	}
	la := &loopAccept{limitListener: l, s: s, signal: make(chan struct{}, 1), done: make(chan struct{})}
	acc, err := passthrough.NewAcceptor(rl.TCPListener, la)
	if err != nil {
		s.log.Warn("edge: no accepting event loop", "error", err)
		return l
	}
	la.acc = acc
	return la
}

// Accept returns the next connection the loop queued, or, while the loop does not
// accept, one the listener gives (limitListener's Accept).
func (l *loopAccept) Accept() (net.Conn, error) {
	for {
		if c := l.pop(); c != nil {
			return c, nil
		}
		if l.yielded.Swap(false) || !l.s.acceptRaw() || !l.acc.Arm() {
			return l.limitListener.Accept()
		}
		select {
		case <-l.signal:
		case <-l.done:
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: net.ErrClosed}
		}
	}
}

// pop returns the first queued connection; nil when none is.
func (l *loopAccept) pop() net.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.queue) == 0 {
		return nil
	}
	c := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	return c
}

// Close stops the loop's accepting, closes the queued connections and the listener.
func (l *loopAccept) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		q := l.queue
		l.queue = nil
		l.mu.Unlock()
		close(l.done)
		l.acc.Close()
		for _, h := range q {
			h.Close()
			putHello(h.rec)
		}
	})
	return l.limitListener.Close()
}

// notify wakes Accept (once for any number of calls before it looks).
func (l *loopAccept) notify() {
	select {
	case l.signal <- struct{}{}:
	default:
	}
}

// Admit implements passthrough.AcceptHandler: a connection slot, while passthrough sites
// are served and the listener is open.
func (l *loopAccept) Admit() bool {
	select {
	case <-l.done:
		return false
	default:
	}
	return l.s.acceptRaw() && l.tryAcquire()
}

// Unadmit implements passthrough.AcceptHandler: the slot back.
func (l *loopAccept) Unadmit() { l.release() }

// Yield implements passthrough.AcceptHandler.
func (l *loopAccept) Yield() {
	l.yielded.Store(true)
	l.notify()
}

// Serve implements passthrough.AcceptHandler: c, with the slot Admit took, is passed
// through from here when its ClientHello is there and names a passthrough site, else
// queued for Accept.
func (l *loopAccept) Serve(c net.Conn) {
	l.s.ptEarly.looped.Add(1)
	lc := l.wrap(c)
	rec := helloBufs.Get().(*[]byte)
	if e := l.s.routeEarly(lc, rec); e != nil {
		l.s.servePassthroughEarly(lc, rec, e)
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		lc.Close()
		putHello(rec)
		return
	}
	l.queue = append(l.queue, &handedConn{Conn: lc, rec: rec})
	l.mu.Unlock()
	l.s.ptEarly.queued.Add(1)
	l.notify()
}
