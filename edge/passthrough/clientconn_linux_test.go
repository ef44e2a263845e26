package passthrough

import (
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// acceptRaw accepts one connection of ln with accept4, as the edge's raw listener does.
func acceptRaw(t *testing.T, ln *net.TCPListener) net.Conn {
	t.Helper()
	rc, err := ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	deadline := time.Now().Add(10 * time.Second)
	for fd < 0 && time.Now().Before(deadline) {
		rc.Control(func(l uintptr) {
			nfd, _, err := syscall.Accept4(int(l), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
			if err == nil {
				fd = nfd
			}
		})
		if fd < 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if fd < 0 {
		t.Fatal("no connection to accept within 10 s")
	}
	return NewClientConn(fd, netip.AddrPort{})
}

// A raw client connection that no loop takes (Pipe, the fallback when no loop can be
// had) and one that a loop takes both carry an echo, after the edge's early read
// (ReadNow) and a SetDeadline(zero), which must leave it to the loop.
func TestClientConnPipeAndLoop(t *testing.T) {
	echo := echoListener(t)
	for _, useLoop := range []bool{false, true} {
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		client.Write([]byte("first "))
		c := acceptRaw(t, ln)
		ln.Close()
		buf := make([]byte, 64)
		var n int
		for deadline := time.Now().Add(10 * time.Second); n == 0 && time.Now().Before(deadline); {
			n, _ = ReadNow(c, buf)
		}
		if string(buf[:n]) != "first " {
			t.Fatalf("ReadNow read %q", buf[:n])
		}
		c.SetDeadline(time.Time{})
		up, err := net.Dial("tcp", echo)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		finish := func(err error) { c.Close(); up.Close(); done <- err }
		if !useLoop {
			go func() { finish(Pipe(c, up, time.Minute, func(bool, int64) {})) }()
		} else if _, ok := Start(c, up, time.Minute, func(bool, int64) {}, finish); !ok {
			t.Fatal("Start refused a raw client connection")
		}
		client.Write([]byte("second"))
		client.(*net.TCPConn).CloseWrite()
		client.SetDeadline(time.Now().Add(10 * time.Second))
		if got, err := io.ReadAll(client); err != nil || string(got) != "second" {
			t.Errorf("loop %v: echo %q, %v", useLoop, got, err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("loop %v: ended with %v", useLoop, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("loop %v: the connection did not end within 10 s", useLoop)
		}
		client.Close()
	}
}
