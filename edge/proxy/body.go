package proxy

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// trackedBody wraps a request body on its way upstream. It remembers whether it was read
// (whether a failed attempt consumed what a retry would need) and the first read error
// (the client's fault, not the upstream's), and enforces the body idle timeout: when a read
// has waited idle for the client without a byte, it cuts that read (SetReadDeadline) and
// cancels the upstream request (the client's fault: 408). When instead the transport has
// not asked for more of the body for idle (the upstream does not take it), it cancels the
// upstream request as the upstream's fault (504), like nginx's proxy_send_timeout: net/http
// starts the response timeout only once the body is sent. Its Close does nothing, so that a failed attempt (whose transport
// closes the body) leaves it for the next; ReverseProxy closes the body it wrapped when
// ServeHTTP ends.
type trackedBody struct {
	rc   io.ReadCloser
	read atomic.Bool // set by the transport's writer goroutine

	mu      sync.Mutex
	readErr error // first error other than io.EOF
	stopped bool  // the timer may no longer cut: the body or the handler is done

	// Idle timeout; timer is nil without one.
	idle      time.Duration
	timer     *time.Timer
	readStart atomic.Int64 // Unix ns when the pending read began; 0: no read pending
	readEnd   atomic.Int64 // Unix ns when the last read returned (or the body was wrapped)
	timedOut  atomic.Bool  // the client stalled
	stalled   atomic.Bool  // the upstream stalled
	cut       func()       // makes the pending read fail and cancels the upstream request
	cancel    context.CancelFunc
}

// newTrackedBody wraps r's body. With idle > 0, the idle timer starts now; stop must be
// called when the request is done.
func newTrackedBody(rc io.ReadCloser, idle time.Duration, w http.ResponseWriter, cancel context.CancelFunc) *trackedBody {
	b := &trackedBody{rc: rc, idle: idle, cancel: cancel}
	if idle > 0 {
		rc := http.NewResponseController(w)
		b.cut = func() {
			// The pending Read returns at once (HTTP/1.1 and HTTP/2 both support it);
			// cancelling alone would leave the transport's writer blocked in it.
			_ = rc.SetReadDeadline(time.Now())
			cancel()
		}
		b.readEnd.Store(time.Now().UnixNano())
		b.timer = time.AfterFunc(idle, b.check)
	}
	return b
}

// check runs when the idle timer fires: it cuts the body if a read has waited on the client
// for idle, cancels the upstream request if the transport has not read for idle, else it
// re-arms for the rest of the period.
func (b *trackedBody) check() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	start, waiting := b.readStart.Load(), true
	if start == 0 {
		start, waiting = b.readEnd.Load(), false
	}
	if since := time.Duration(time.Now().UnixNano() - start); since < b.idle {
		b.timer.Reset(b.idle - since)
		return
	}
	if !waiting {
		b.stalled.Store(true)
		b.cancel()
		return
	}
	b.timedOut.Store(true)
	b.cut()
}

// stop stops the idle timer. Once it returns, the body is never cut: a timer that fired
// meanwhile cannot set a read deadline on a connection serving the next request.
func (b *trackedBody) stop() {
	if b.timer == nil {
		return
	}
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.timer.Stop()
}

func (b *trackedBody) Read(p []byte) (int, error) {
	if !b.read.Load() {
		b.read.Store(true)
	}
	if b.timer != nil {
		b.readStart.Store(time.Now().UnixNano())
	}
	n, err := b.rc.Read(p)
	if b.timer != nil {
		b.readEnd.Store(time.Now().UnixNano())
		b.readStart.Store(0)
	}
	if err != nil {
		b.stop() // the body is over, one way or the other
		if err != io.EOF {
			b.mu.Lock()
			if b.readErr == nil {
				b.readErr = err
			}
			b.mu.Unlock()
		}
	}
	return n, err
}

// err returns the first read error other than io.EOF, or nil.
func (b *trackedBody) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.readErr
}

func (b *trackedBody) Close() error { return nil }

// upstreamBody wraps an upstream's response body to tell, when ReverseProxy aborts a
// response mid-body, whether reading from the upstream failed (its fault) or writing to
// the client did (the client's).
type upstreamBody struct {
	io.ReadCloser
	failed bool // read on the handler's goroutine only, as Read is called
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.failed = true
	}
	return n, err
}
