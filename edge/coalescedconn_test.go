package edge

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tlsPair returns the server side of a TLS connection over loopback TCP, wrapped in a
// coalescedConn with writeTimeout, and the client side; both close when the test ends.
func tlsPair(t *testing.T, writeTimeout time.Duration) (*coalescedConn, *tls.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert(t, "pair.test")}}
	accepted := make(chan *tls.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		tc := tls.Server(c, srvCfg)
		if tc.Handshake() != nil {
			tc.Close()
			tc = nil
		}
		accepted <- tc
	}()
	client, err := tls.Dial("tcp", ln.Addr().String(), clientTLS(t, "pair.test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	sc := <-accepted
	if sc == nil {
		t.Fatal("server handshake failed")
	}
	c := newCoalescedConn(sc, writeTimeout)
	t.Cleanup(func() { c.Close() })
	return c, client
}

// Bytes written arrive whole and in order, those still pending at Close included.
func TestCoalescedConnOrder(t *testing.T) {
	c, client := tlsPair(t, time.Minute)
	if got := c.ConnectionState().ServerName; got != "pair.test" {
		t.Fatalf("ConnectionState().ServerName = %q, want the *tls.Conn's", got)
	}
	var want bytes.Buffer
	for i := range 2000 {
		chunk := fmt.Appendf(nil, "frame %d;", i)
		if i%100 == 0 {
			chunk = append(chunk, bytes.Repeat([]byte{'x'}, 20000)...)
		}
		want.Write(chunk)
		if n, err := c.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write %d = %d, %v", i, n, err)
		}
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("client read %d bytes, want the %d written, in order", len(b), want.Len())
	}
	if _, err := c.Write([]byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// writeUntilError writes 16 KiB chunks to c until a write fails, and returns that error.
func writeUntilError(c *coalescedConn) error {
	chunk := make([]byte, 16<<10)
	for {
		if _, err := c.Write(chunk); err != nil {
			return err
		}
	}
}

// A client that does not read fails the writes after the write timeout, and every later
// write returns the error: the HTTP/2 server sees it and closes the connection.
func TestCoalescedConnStuckClient(t *testing.T) {
	c, _ := tlsPair(t, 50*time.Millisecond)
	err := writeUntilError(c)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a client not reading = %v, want a deadline error", err)
	}
	if _, err2 := c.Write([]byte("x")); !errors.Is(err2, os.ErrDeadlineExceeded) {
		t.Fatalf("next Write = %v, want the same error", err2)
	}
}

// Without a write timeout, Close still frees a writer blocked on a client not reading.
func TestCoalescedConnCloseUnblocks(t *testing.T) {
	c, _ := tlsPair(t, 0)
	done := make(chan error, 1)
	go func() { done <- writeUntilError(c) }()
	// Wait until the writer is blocked behind a full pending buffer.
	for {
		c.mu.Lock()
		full := c.pending != nil && len(*c.pending) >= maxPendingWrite
		c.mu.Unlock()
		if full {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c.Close()
	if err := <-done; err == nil {
		t.Fatal("blocked Write returned no error after Close")
	}
}
