package passthrough

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"

	"github.com/edgectl/edge/edge/site"
)

// loopRun is a connection handed to a loop in a test: its byte counts and end.
type loopRun struct {
	up, down atomic.Int64
	done     chan error
	h        Loop
}

// startLoop hands edgeSide and upSide to a loop; done closes both, as the edge does.
func startLoop(t *testing.T, edgeSide, upSide net.Conn, idle time.Duration) *loopRun {
	t.Helper()
	r := &loopRun{done: make(chan error, 1)}
	h, ok := Start(edgeSide, upSide, idle, func(up bool, n int64) {
		if up {
			r.up.Add(n)
		} else {
			r.down.Add(n)
		}
	}, func(err error) {
		edgeSide.Close()
		upSide.Close()
		r.done <- err
	})
	if !ok {
		t.Fatal("Start refused TCP connections")
	}
	r.h = h
	return r
}

// wait returns the connection's end, failing the test after a minute.
func (r *loopRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("the loop did not end the connection")
		return nil
	}
}

// Differential: the loop carries the same bytes, half-closes and counts as Pipe (the
// client half-closes first, the upstream answers after it and closes), with an upstream
// opened by Open's fast path (an *upConn the loop takes raw) and a plain *net.TCPConn.
func TestLoopHalfClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, fast := range []bool{true, false} {
		client, edgeSide := tcpPair(t)
		var upSide net.Conn
		if fast {
			p, err := NewPool("s", site.Passthrough{Upstreams: []string{ln.Addr().String()}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			c, u, err := p.Open(context.Background(), nil, time.Minute, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer u.Done()
			if _, ok := c.(*upConn); !ok {
				t.Fatalf("Open gave a %T", c)
			}
			upSide = c
		} else {
			if upSide, err = net.Dial("tcp", ln.Addr().String()); err != nil {
				t.Fatal(err)
			}
		}
		upstream, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer upstream.Close()
		r := startLoop(t, edgeSide, upSide, time.Minute)
		client.Write([]byte("request"))
		client.CloseWrite()
		got, err := io.ReadAll(upstream) // ends at the half-close
		if err != nil || string(got) != "request" {
			t.Fatalf("upstream read %q, %v", got, err)
		}
		upstream.Write([]byte("response"))
		upstream.(*net.TCPConn).CloseWrite()
		if got, err = io.ReadAll(client); err != nil || string(got) != "response" {
			t.Fatalf("client read %q, %v", got, err)
		}
		if err := r.wait(t); err != nil {
			t.Fatal(err)
		}
		if r.up.Load() != 7 || r.down.Load() != 8 {
			t.Errorf("counted %d up, %d down", r.up.Load(), r.down.Load())
		}
	}
}

// Many connections at once, each echoing a different amount (up to 3 MiB, more than a
// turn's budget and a socket's buffer, so sockets fill and the loop waits for them), all
// bytes intact, every connection ended with its counts.
func TestLoopManyConns(t *testing.T) {
	echo := echoListener(t)
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			size := 1 + i*(3<<20)/n
			if err := loopEcho(t, echo, size); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// echoListener serves TCP, echoing every byte and half-closing at the end.
func echoListener(t *testing.T) string {
	return edgetest.TCPServer(t, func(c net.Conn) {
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
	})
}

// echoRoundTrip sends size random bytes from client, half-closes, and checks the same
// bytes come back.
func echoRoundTrip(client *net.TCPConn, size int) error {
	data := make([]byte, size)
	rand.Read(data)
	go func() {
		client.Write(data)
		client.CloseWrite()
	}()
	got, err := io.ReadAll(client)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return errors.New("echo differs")
	}
	return nil
}

// openEcho opens an upstream connection to echo through a Pool, as the server does.
func openEcho(echo string) (net.Conn, *Upstream, error) {
	p, err := NewPool("s", site.Passthrough{Upstreams: []string{echo}}, nil)
	if err != nil {
		return nil, nil, err
	}
	return p.Open(context.Background(), nil, time.Minute, nil)
}

// loopEcho sends size random bytes through a loop to echo and checks they come back.
func loopEcho(t *testing.T, echo string, size int) error {
	client, edgeSide := tcpPair(t)
	upSide, err := net.Dial("tcp", echo)
	if err != nil {
		return err
	}
	r := startLoop(t, edgeSide, upSide, time.Minute)
	if err := echoRoundTrip(client, size); err != nil {
		return err
	}
	if err := r.wait(t); err != nil {
		return err
	}
	if r.up.Load() != int64(size) || r.down.Load() != int64(size) {
		return errors.New("counts differ")
	}
	return nil
}

// Sockets are registered for input only: output is added to the upstream's registration
// once a write to it would block (the upstream reads nothing yet), and the loop is then
// told when it drains: every byte arrives, counted, and the connection ends cleanly.
func TestLoopBlockedWriteArmsOutput(t *testing.T) {
	armed := make(chan int, 2) // armOut runs once per socket
	setHooks(t, &loopTestHooks{armed: func(_ *lconn, side int) { armed <- side }})
	client, edgeSide := tcpPair(t)
	upSide, upstream := tcpPair(t)
	r := startLoop(t, edgeSide, upSide, time.Minute)
	data := make([]byte, 32<<20) // more than the sockets' buffers and the loop's pipe
	rand.Read(data)
	go func() {
		client.Write(data)
		client.CloseWrite()
	}()
	select {
	case side := <-armed:
		if side != 1 {
			t.Fatalf("output armed on side %d, want the upstream's (1)", side)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no write to the upstream blocked within 10 s: output never armed")
	}
	upstream.SetReadDeadline(time.Now().Add(10 * time.Second)) // a lost writability: fail, not hang
	got, err := io.ReadAll(upstream)                           // ends at the client's half-close, passed on
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("upstream read %d bytes (%v), want the %d sent", len(got), err, len(data))
	}
	upstream.CloseWrite()
	if err := r.wait(t); err != nil {
		t.Fatal(err)
	}
	if r.up.Load() != int64(len(data)) || r.down.Load() != 0 {
		t.Errorf("counted %d up, %d down", r.up.Load(), r.down.Load())
	}
}

// A connection without a byte either way ends with ErrIdle, both sides closed.
func TestLoopIdle(t *testing.T) {
	client, edgeSide := tcpPair(t)
	upSide, upstream := tcpPair(t)
	r := startLoop(t, edgeSide, upSide, 50*time.Millisecond)
	if err := r.wait(t); !errors.Is(err, ErrIdle) {
		t.Fatalf("ended with %v", err)
	}
	for _, c := range []net.Conn{client, upstream} {
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("read after idle: %v", err)
		}
	}
}

// Kill ends an open connection with net.ErrClosed; a Kill after the end does nothing.
func TestLoopKill(t *testing.T) {
	_, edgeSide := tcpPair(t)
	upSide, _ := tcpPair(t)
	r := startLoop(t, edgeSide, upSide, time.Minute)
	r.h.Kill()
	if err := r.wait(t); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ended with %v", err)
	}
	r.h.Kill()
	select {
	case err := <-r.done:
		t.Fatalf("ended twice: %v", err)
	default:
	}
}

// A client that resets its connection ends it with the reset, and the upstream is closed.
func TestLoopClientReset(t *testing.T) {
	client, edgeSide := tcpPair(t)
	upSide, upstream := tcpPair(t)
	r := startLoop(t, edgeSide, upSide, time.Minute)
	client.Write([]byte("x"))
	if _, err := io.ReadFull(upstream, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	client.SetLinger(0) // close sends RST
	client.Close()
	if err := r.wait(t); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("ended with %v", err)
	}
	if _, err := io.ReadAll(upstream); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("upstream read after reset: %v", err)
	}
}
