package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestH1ClientSendAndWait: over a plain TCP upstream the request's last write also waits
// for the response (sendAndWait). A response whose head comes in pieces, a request head
// larger than the write buffer (written in two writes, the last one waiting) and a
// response on a reused connection all arrive whole.
func TestH1ClientSendAndWait(t *testing.T) {
	big := strings.Repeat("v", 6000)
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body := "ok"
			if v := req.Header.Get("X-Big"); v != "" {
				body = strconv.Itoa(len(v))
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			time.Sleep(time.Millisecond) // the head in two pieces (any timing works)
			io.WriteString(c, "Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		}
	})
	c := testClient(u.addr, time.Minute)
	for i, want := range []string{"ok", strconv.Itoa(len(big)), "ok"} {
		req := getReq(t, context.Background(), u.addr, "/")
		if i == 1 {
			req.Header.Set("X-Big", big)
		}
		res, err := c.RoundTrip(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || string(b) != want {
			t.Fatalf("request %d: body %q, %v; want %q", i, b, err, want)
		}
	}
	if n := u.accepts.Load(); n != 1 {
		t.Errorf("%d connections for 3 requests, want 1", n)
	}
	if len(c.idle) != 1 || (c.idle[0].raw == nil && runtime.GOOS == "linux") {
		t.Fatalf("idle %v: want one connection using sendAndWait", c.idle)
	}
}

// TestH1ClientCancelWhileWaiting: a request cancelled while it waits for the response
// head (inside sendAndWait's wait, or the read after it) ends with the cancellation, and
// the connection is not pooled.
func TestH1ClientCancelWhileWaiting(t *testing.T) {
	got := make(chan struct{}, 1)
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if readRequest(br) {
			got <- struct{}{}
			io.Copy(io.Discard, br) // never answers
		}
	})
	c := testClient(u.addr, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-got
		cancel()
	}()
	done := make(chan error, 1)
	go func() {
		_, err := c.RoundTrip(getReq(t, ctx, u.addr, "/"))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled request still waits for the response head after 10s")
	}
	if n := len(c.idle); n != 0 {
		t.Errorf("%d idle connections after a cancelled request, want 0", n)
	}
}

// TestH1ClientWriteErrorIsNetError: a request sent on a connection the upstream reset
// fails with the error net.Conn's Write gives: a *net.OpError around an *os.SyscallError.
func TestH1ClientWriteErrorIsNetError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-accepted:
		c.(*net.TCPConn).SetLinger(0)
		c.Close() // reset
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted in 10s")
	}
	pc := newH1Conn(testClient(ln.Addr().String(), 0), conn)
	defer conn.Close()
	if pc.raw == nil {
		t.Skip("no raw writes here (rawio: Linux only)")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = pc.sendAndWait([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		if err != nil || time.Now().After(deadline) {
			break
		}
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" || !errors.As(err, new(*os.SyscallError)) {
		t.Fatalf("err %#v, want a write *net.OpError with a *os.SyscallError", err)
	}
}

// processReads is the process's read system calls so far (/proc/self/io syscr); -1
// where there is no such file.
func processReads() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// TestH1ClientHeaderDeadlineLeft: a response whose body came with its head leaves the
// header timeout's deadline on the connection (nothing more is read for it); the next
// request on it, after that deadline passed, sets its own and succeeds. A body that comes
// later than the header timeout is read without it.
func TestH1ClientHeaderDeadlineLeft(t *testing.T) {
	const timeout = 50 * time.Millisecond
	u := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		for readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok")
			time.Sleep(2 * timeout) // the body's end after the header timeout
			io.WriteString(c, "!!")
		}
	})
	c := testClient(u.addr, timeout)
	for i := 0; i < 2; i++ {
		if _, body, err := fetch(t, c, u.addr, "/"); err != nil || body != "ok!!" {
			t.Fatalf("request %d: %q %v", i, body, err)
		}
	}
	u2 := newRawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		for readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	c2 := testClient(u2.addr, timeout)
	for i := 0; i < 2; i++ {
		if _, body, err := fetch(t, c2, u2.addr, "/"); err != nil || body != "ok" {
			t.Fatalf("request %d: %q %v", i, body, err)
		}
		time.Sleep(2 * timeout) // the deadline left by the answer passes
	}
	if n := u2.accepts.Load(); n != 1 {
		t.Errorf("%d connections for 2 requests, want 1", n)
	}
}
