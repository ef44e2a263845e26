package edge

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// HTTP/2 write coalescing. Go's HTTP/2 server flushes its write buffer whenever its queue
// of frames is empty, each flush from a goroutine of its own, and a handler's response
// leaves as two flushes: the HEADERS frame (the handler waits until it is written) and
// then the DATA frame. Each flush is a TLS record, and each record a write system call,
// costly here (gVisor). Once a connection serves HTTP/2, its helloConn (under the
// *tls.Conn) hands writes to a writeCoalescer: Write only appends the record to a pending
// buffer, and one flusher goroutine per burst yields to the goroutines already runnable
// (the handler sending its DATA, other streams completing) before it writes everything
// pending in one system call. Edge's HTTP/2 server instead holds the writes of its serve
// goroutine and writes them itself when it goes idle (writecoalescerhold.go); the
// flusher then takes only what the socket does not take at once.
//
// What the connection owes the TLS stack and the HTTP/2 server stays:
//   - errors: a failed write is kept and returned by every later Write, so the server
//     sees it at its next flush and closes the connection;
//   - back-pressure: Write blocks while maxPendingWrite bytes wait, so a client that does
//     not read stalls the server as before;
//   - write timeouts: every write to the socket has a deadline of writeTimeout (the
//     server's HTTP/2 WriteByteTimeout), so a stuck client fails the connection instead
//     of pinning the flusher and the writers waiting on it; the write deadlines set from
//     above (the server's byte timeout around each flush, which returns at once here,
//     crypto/tls's around its close_notify) are ignored;
//   - closing first gives pending bytes (a GOAWAY, close_notify) closeFlushTimeout to
//     leave.

// maxPendingWrite is how many bytes may wait for the flusher before Write blocks.
const maxPendingWrite = 64 << 10

// maxFlushYields bounds how often the flusher yields while more bytes keep arriving.
const maxFlushYields = 4

// closeFlushTimeout bounds how long closing lets pending bytes leave.
const closeFlushTimeout = time.Second

// writeCoalescer batches the writes to conn.
type writeCoalescer struct {
	conn         net.Conn
	writeTimeout time.Duration // per write to conn; 0: none

	mu       sync.Mutex
	drained  sync.Cond // signalled when the flusher took pending bytes or stopped
	pending  *[]byte   // bytes not written yet; nil when none
	flushing bool      // a flusher goroutine runs, or flushHeld writes
	held     bool      // Write does not start the flusher: flushHeld will (writecoalescerhold.go)
	closed   bool
	err      error // the first write error; every later Write returns it
}

// newWriteCoalescer returns a writeCoalescer of conn, each write bounded by writeTimeout.
func newWriteCoalescer(conn net.Conn, writeTimeout time.Duration) *writeCoalescer {
	w := &writeCoalescer{conn: conn, writeTimeout: writeTimeout}
	w.drained.L = &w.mu
	return w
}

// pendingBufs recycles pending buffers.
var pendingBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// Write queues p for the flusher. It blocks while too much is pending, and returns the
// error of an earlier failed write (net.ErrClosed once closed).
func (w *writeCoalescer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for w.err == nil && !w.closed && w.pending != nil && len(*w.pending) >= maxPendingWrite {
		if !w.flushing { // held bytes: too many to wait for flushHeld
			w.flushing = true
			go w.flush()
		}
		w.drained.Wait()
	}
	if w.err != nil || w.closed {
		err := w.err
		w.mu.Unlock()
		if err == nil {
			err = net.ErrClosed
		}
		return 0, err
	}
	if w.pending == nil {
		w.pending = pendingBufs.Get().(*[]byte)
	}
	*w.pending = append(*w.pending, p...)
	start := !w.flushing && !w.held
	w.flushing = w.flushing || start
	w.mu.Unlock()
	if start {
		go w.flush()
	}
	return len(p), nil
}

// flush writes pending bytes to conn until none are left.
func (w *writeCoalescer) flush() {
	for {
		w.settle()
		w.mu.Lock()
		buf := w.pending
		w.pending = nil
		if buf == nil || w.err != nil {
			w.flushing = false
			w.drained.Broadcast()
			w.mu.Unlock()
			putPendingBuf(buf)
			return
		}
		w.setWriteDeadlineLocked()
		w.drained.Broadcast()
		w.mu.Unlock()
		_, err := w.conn.Write(*buf)
		putPendingBuf(buf)
		if err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
	}
}

// settle yields to runnable goroutines while they add bytes, at most maxFlushYields times.
func (w *writeCoalescer) settle() {
	last := -1
	for range maxFlushYields {
		w.mu.Lock()
		n := 0
		if w.pending != nil {
			n = len(*w.pending)
		}
		closed := w.closed
		w.mu.Unlock()
		if n == last || closed {
			return
		}
		last = n
		runtime.Gosched()
	}
}

// setWriteDeadlineLocked sets the deadline of the next write to conn (w.mu held).
func (w *writeCoalescer) setWriteDeadlineLocked() {
	switch {
	case w.closed:
		w.conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	case w.writeTimeout > 0:
		w.conn.SetWriteDeadline(time.Now().Add(w.writeTimeout))
	}
}

func putPendingBuf(b *[]byte) {
	if b != nil && cap(*b) <= 4*maxPendingWrite {
		*b = (*b)[:0]
		pendingBufs.Put(b)
	}
}

// close lets pending bytes leave within closeFlushTimeout; later writes fail. It does not
// close conn.
func (w *writeCoalescer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	w.held = false
	if !w.flushing && w.pending != nil && w.err == nil { // held bytes
		w.flushing = true
		go w.flush()
	}
	if w.flushing {
		w.conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
		for w.flushing {
			w.drained.Wait()
		}
	}
	w.drained.Broadcast()
}

// room returns how many bytes Write queues now without waiting.
func (w *writeCoalescer) room() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending == nil {
		return maxPendingWrite
	}
	return max(0, maxPendingWrite-len(*w.pending))
}
