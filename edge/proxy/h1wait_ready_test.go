package proxy

import (
	"bufio"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestH1ClientHalfClosedIdle: an upstream that half-closes a keep-alive connection while
// it is idle (its FIN arrives before the next request, and it reads on) makes the next
// idempotent request on it fail at once and be retried on a new connection, as with
// net.Conn's read. The readiness the FIN gave must not be lost by sendAndWait's wait,
// which would otherwise wait for the header timeout (or forever without one).
func TestH1ClientHalfClosedIdle(t *testing.T) {
	for _, timeout := range []time.Duration{0, time.Minute} {
		pooled, halfClosed := make(chan struct{}), make(chan struct{})
		var conns atomic.Int32
		u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
			stale := conns.Add(1) == 1
			for readRequest(br) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				if stale {
					<-pooled
					c.(*net.TCPConn).CloseWrite() // the FIN is in the client's socket on return (loopback)
					close(halfClosed)
					io.Copy(io.Discard, br) // reads on, never answers
					return
				}
			}
		})
		c := testClient(u.addr, timeout)
		if _, body, err := fetch(t, c, u.addr, "/"); err != nil || body != "ok" {
			t.Fatalf("first request: %q %v", body, err)
		}
		close(pooled)
		select {
		case <-halfClosed:
		case <-time.After(10 * time.Second):
			t.Fatal("the upstream did not half-close in 10s")
		}
		done := make(chan error, 1)
		go func() {
			_, body, err := fetch(t, c, u.addr, "/")
			if err == nil && body != "ok" {
				err = io.ErrUnexpectedEOF
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("header timeout %v: request on the half-closed connection: %v, want a retry", timeout, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("header timeout %v: the request on a half-closed idle connection still waits after 10s", timeout)
		}
		if n := conns.Load(); n != 2 {
			t.Errorf("header timeout %v: %d connections, want 2 (the retry's)", timeout, n)
		}
		c.closeIdle()
	}
}
