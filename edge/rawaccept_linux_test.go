package edge

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A raw listener accepts connections as raw descriptors while use says so, with the
// peer's address from accept4; plainConn makes one a *net.TCPConn that still carries the
// bytes (both ways); while use says no, Accept is the TCP listener's; after Close, Accept
// fails with net.ErrClosed.
func TestRawListenerAccept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raw := true
	rl := newRawListener(ln, func() bool { return raw })
	defer rl.Close()
	client, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := rl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, isTCP := c.(*net.TCPConn); isTCP {
		t.Fatal("accepted as a *net.TCPConn while raw")
	}
	if got, want := c.RemoteAddr().String(), client.LocalAddr().String(); got != want {
		t.Errorf("RemoteAddr = %s, want %s", got, want)
	}
	pc, err := plainConn(c)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, isTCP := pc.(*net.TCPConn); !isTCP {
		t.Fatalf("plainConn gave a %T", pc)
	}
	client.Write([]byte("ping"))
	pc.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(pc, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}
	pc.Write([]byte("pong"))
	client.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("client read %q, %v", buf, err)
	}

	raw = false
	client2, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer client2.Close()
	c2, err := rl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, isTCP := c2.(*net.TCPConn); !isTCP {
		t.Errorf("accepted a %T while not raw", c2)
	}

	raw = true
	done := make(chan error, 1)
	go func() {
		_, err := rl.Accept()
		done <- err
	}()
	rl.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return within 10 s of Close")
	}
}

// A terminated connection accepted raw under the connection cap gets limitConn's raw
// reads and writes (rawio) once plainConn has made it a *net.TCPConn, as one accepted by
// package net does.
func TestPlainConnKeepsRawIO(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ll := newLimitListener(newRawListener(ln, func() bool { return true }), 0, prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"}))
	defer ll.Close()
	client, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := ll.Accept()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := plainConn(c)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	lc, ok := pc.(*limitConn)
	if !ok {
		t.Fatalf("plainConn gave a %T, want the *limitConn", pc)
	}
	if _, isTCP := lc.Conn.(*net.TCPConn); !isTCP || lc.r == nil || lc.w == nil {
		t.Fatalf("limitConn over %T, raw reader %v, raw writer %v; want a *net.TCPConn with both", lc.Conn, lc.r != nil, lc.w != nil)
	}
	client.Write([]byte("ping"))
	pc.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(pc, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}
}
