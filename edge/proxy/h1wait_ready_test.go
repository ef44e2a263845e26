package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
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

// gatedBody is a request body: first, then (once gate is closed) last, then io.EOF.
type gatedBody struct {
	first, last []byte
	gate        <-chan struct{}
}

func (b *gatedBody) Read(p []byte) (int, error) {
	if len(b.first) > 0 {
		n := copy(p, b.first)
		b.first = b.first[n:]
		return n, nil
	}
	if b.last == nil {
		return 0, io.EOF
	}
	select {
	case <-b.gate:
	case <-time.After(10 * time.Second):
		return 0, errors.New("the upstream did not answer early in 10s")
	}
	n := copy(p, b.last)
	b.last = b.last[n:]
	if len(b.last) == 0 {
		b.last = nil
	}
	return n, nil
}

// TestH1ClientEarlyResponse: a response the upstream sends before the request's last
// bytes are written (a 413 while it reads on) is read once they are, without waiting for
// the header timeout (or forever without one).
func TestH1ClientEarlyResponse(t *testing.T) {
	answered := make(chan struct{})
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if !readRequest(br) {
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		close(answered) // the response is in the client's socket on return (loopback)
		io.Copy(io.Discard, br)
	})
	c := testClient(u.addr, 0)
	body := &gatedBody{first: bytes.Repeat([]byte("a"), 16<<10), last: []byte("end"), gate: answered}
	req, err := http.NewRequest(http.MethodPost, "http://"+u.addr+"/", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body.first) + len(body.last))
	done := make(chan error, 1)
	go func() {
		res, err := c.RoundTrip(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusRequestEntityTooLarge {
				err = errors.New("status " + res.Status)
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("early response: %v, want the 413", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the response sent before the request's end is still not read after 10s")
	}
}
