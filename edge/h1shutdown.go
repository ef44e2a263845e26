package edge

import (
	"context"
	"net"
	"sync"
	"time"
)

// shutdown stops the loop as http.Server.Shutdown stops net/http's: the listener closes,
// idle connections close (new ones once 5 s old, as net/http's), active ones close after
// their response (which says Connection: close); once ctx is done the rest are closed and
// ctx's error is returned.
func (h *h1Server) shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing.Store(true)
	h.mu.Unlock()
	h.ln.Close()
	h.queue.Close()
	const maxPoll = 500 * time.Millisecond
	poll := time.Millisecond
	t := time.NewTimer(poll)
	defer t.Stop()
	for {
		if h.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			h.closeAll()
			return ctx.Err()
		case <-t.C:
			poll = min(2*poll, maxPoll)
			t.Reset(poll)
		}
	}
}

// closeIdle closes the idle connections and reports whether none is left open.
func (h *h1Server) closeIdle() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := time.Now().Add(-5 * time.Second)
	for c := range h.conns {
		if c.st.CompareAndSwap(connIdle, connClosed) ||
			(c.born.Before(old) && c.st.CompareAndSwap(connNew, connClosed)) {
			c.tc.Close()
		}
	}
	return len(h.conns) == 0
}

// closeAll closes every connection.
func (h *h1Server) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		c.st.Store(connClosed)
		c.tc.Close()
	}
}

// connQueue is a net.Listener whose connections are pushed to it: the handed-off ones.
type connQueue struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{ch: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

// push hands c to Accept; false once the queue is closed.
func (q *connQueue) push(c net.Conn) bool {
	select {
	case <-q.done:
		return false
	default:
	}
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

// Accept implements net.Listener.
func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

// Addr implements net.Listener.
func (q *connQueue) Addr() net.Addr { return q.addr }
