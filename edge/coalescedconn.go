package edge

import (
	"crypto/tls"
	"net"
	"runtime"
	"sync"
	"time"
)

// HTTP/2 write coalescing. Go's HTTP/2 server flushes its write buffer whenever its queue
// of frames is empty, and a handler's response leaves as two flushes: the HEADERS frame
// (the handler waits for it to be written) and then the DATA frame. Over a *tls.Conn each
// flush is a TLS record and a write system call of its own, costly here. A coalescedConn sits
// between the HTTP/2 server and the *tls.Conn: Write only appends to a pending buffer, and
// one flusher goroutine per burst yields to the goroutines already runnable (the handler
// sending its DATA, other streams completing) before it hands everything pending to TLS
// in one Write: one record, one system call, for the frames of several flushes and
// streams.
//
// What a conn owes the HTTP/2 server stays:
//   - errors: a failed write is kept and returned by every later Write, so the server
//     sees it at its next flush and closes the connection;
//   - back-pressure: Write blocks while maxPendingWrite bytes wait, so a client that does
//     not read stalls the server as before;
//   - write timeouts: every write to TLS has a deadline of writeTimeout (the server's
//     HTTP/2 WriteByteTimeout), so a stuck client fails the connection instead of pinning
//     the flusher and the writers waiting on it. The server's own SetWriteDeadline calls
//     (its byte timeout around each flush, which returns at once here) are ignored;
//   - Close first gives pending frames (a GOAWAY) at most closeFlushTimeout to leave.
//   - ConnectionState, Read and read deadlines are the *tls.Conn's.

// maxPendingWrite is how many bytes may wait for the flusher before Write blocks.
const maxPendingWrite = 64 << 10

// maxFlushYields bounds how often the flusher yields while more bytes keep arriving.
const maxFlushYields = 4

// closeFlushTimeout bounds how long Close lets pending bytes leave.
const closeFlushTimeout = time.Second

// coalescedConn is an HTTP/2 server's *tls.Conn with coalesced writes.
type coalescedConn struct {
	*tls.Conn
	writeTimeout time.Duration // per write to TLS; 0: none

	mu       sync.Mutex
	drained  sync.Cond // signalled when the flusher took or wrote bytes, or stopped
	pending  *[]byte   // bytes not handed to TLS yet; nil when none
	flushing bool      // a flusher goroutine runs
	closed   bool
	err      error // the first write error; every later Write returns it
}

// newCoalescedConn returns c with coalesced writes, each write to TLS bounded by writeTimeout.
func newCoalescedConn(c *tls.Conn, writeTimeout time.Duration) *coalescedConn {
	hc := &coalescedConn{Conn: c, writeTimeout: writeTimeout}
	hc.drained.L = &hc.mu
	return hc
}

// h2WriteBufs recycles pending buffers.
var h2WriteBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// Write queues p for the flusher. It blocks while too much is pending, and returns the
// error of an earlier failed write.
func (c *coalescedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.closed && c.err == nil {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	for c.err == nil && c.pending != nil && len(*c.pending) >= maxPendingWrite {
		c.drained.Wait()
	}
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return 0, err
	}
	if c.pending == nil {
		c.pending = h2WriteBufs.Get().(*[]byte)
	}
	*c.pending = append(*c.pending, p...)
	start := !c.flushing
	c.flushing = true
	c.mu.Unlock()
	if start {
		go c.flush()
	}
	return len(p), nil
}

// flush hands pending bytes to TLS until none are left.
func (c *coalescedConn) flush() {
	for {
		c.settle()
		c.mu.Lock()
		buf := c.pending
		c.pending = nil
		if buf == nil || c.err != nil {
			c.flushing = false
			c.drained.Broadcast()
			c.mu.Unlock()
			putH2WriteBuf(buf)
			return
		}
		c.setWriteDeadlineLocked()
		c.drained.Broadcast()
		c.mu.Unlock()
		_, err := c.Conn.Write(*buf)
		putH2WriteBuf(buf)
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
		}
	}
}

// settle yields to runnable goroutines while they add bytes, at most maxFlushYields times.
func (c *coalescedConn) settle() {
	last := -1
	for range maxFlushYields {
		c.mu.Lock()
		n := 0
		if c.pending != nil {
			n = len(*c.pending)
		}
		closed := c.closed
		c.mu.Unlock()
		if n == last || closed {
			return
		}
		last = n
		runtime.Gosched()
	}
}

// setWriteDeadlineLocked sets the deadline of the next write to TLS (c.mu held).
func (c *coalescedConn) setWriteDeadlineLocked() {
	switch {
	case c.closed:
		c.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	case c.writeTimeout > 0:
		c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	}
}

func putH2WriteBuf(b *[]byte) {
	if b != nil && cap(*b) <= 4*maxPendingWrite {
		*b = (*b)[:0]
		h2WriteBufs.Put(b)
	}
}

// SetWriteDeadline implements net.Conn: ignored, writes are bounded by writeTimeout.
func (c *coalescedConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline implements net.Conn: it sets the read deadline (see SetWriteDeadline).
func (c *coalescedConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

// Close lets pending bytes leave within closeFlushTimeout, then closes the connection.
func (c *coalescedConn) Close() error {
	c.mu.Lock()
	c.closed = true
	if c.flushing {
		c.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
		for c.flushing {
			c.drained.Wait()
		}
	}
	if c.err == nil {
		c.err = net.ErrClosed
	}
	c.mu.Unlock()
	return c.Conn.Close()
}
