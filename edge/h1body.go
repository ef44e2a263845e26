package edge

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// maxPostHandlerReadBytes is net/http's: the most of a request body the handler left
// unread that the server reads to keep the connection.
const maxPostHandlerReadBytes = 256 << 10

// rstAvoidanceDelay is net/http's wait before closing a connection whose client may still
// be sending a body it did not read, so that its response is not lost to a reset.
const rstAvoidanceDelay = 500 * time.Millisecond

// h1Body is the body of a request with a Content-Length served by the loop: net/http's
// server body (doEarlyClose) around http.ReadRequest's, which reads the connection's
// buffer. The proxy may read it from another goroutine than the handler's.
type h1Body struct {
	c          *h1Conn
	rc         io.ReadCloser
	mu         sync.Mutex
	remain     int64 // bytes not read yet
	sawEOF     bool
	closed     bool
	earlyClose bool // closed with bytes unread: the connection cannot serve another request
	closing    bool // the request asked to close the connection
}

// Read implements io.Reader.
func (b *h1Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.readLocked(p)
}

func (b *h1Body) readLocked(p []byte) (int, error) {
	if b.sawEOF {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	b.remain -= int64(n)
	if err == io.EOF {
		b.sawEOF = true
		b.c.bodyDone()
	}
	return n, err
}

// Close reads what is left of the body, up to maxPostHandlerReadBytes, so that the
// connection can serve the next request, as net/http's does.
func (b *h1Body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	var err error
	switch {
	case b.sawEOF:
	case b.closing:
	case b.remain > maxPostHandlerReadBytes:
		b.earlyClose = true
	default:
		var n int64
		n, err = io.CopyN(io.Discard, readerFunc(b.readLocked), maxPostHandlerReadBytes)
		if err == io.EOF {
			err = nil
		}
		if n == maxPostHandlerReadBytes {
			b.earlyClose = true
		}
	}
	b.closed = true
	return err
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// closedEarly reports whether the body was closed with bytes unread.
func (b *h1Body) closedEarly() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.earlyClose
}

// discardBeforeHead is what net/http's server does with a body the handler left when the
// response's head is written: read it if small enough, else mark the connection to close
// (the response says Connection: close). It reports whether the body was too large.
func (w *h1Response) discardBeforeHead() (tooBig bool) {
	b := w.body
	b.mu.Lock()
	discard := false
	switch {
	case b.closed:
		if !b.sawEOF {
			w.closeAfter = true
		}
	case b.remain >= maxPostHandlerReadBytes:
		tooBig = true
	default:
		discard = true
	}
	b.mu.Unlock()
	if discard {
		_, err := io.CopyN(io.Discard, b, maxPostHandlerReadBytes+1)
		switch err {
		case nil:
			tooBig = true
		case http.ErrBodyReadAfterClose:
		case io.EOF:
			if b.Close() != nil {
				w.closeAfter = true
			}
		default:
			w.closeAfter = true
		}
	}
	if tooBig {
		w.closeAfter, w.bodyLimitHit = true, true
	}
	return tooBig
}

// closeWriteAndWait ends the connection's writing side and waits rstAvoidanceDelay before
// it is closed, as net/http does after a body it did not read whole.
func (c *h1Conn) closeWriteAndWait() {
	c.bw.Flush()
	c.tc.CloseWrite()
	time.Sleep(rstAvoidanceDelay)
}
