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

// tcpPair returns both ends of a loopback TCP connection, closed when the test ends.
func tcpPair(t *testing.T, ln net.Listener) (server, client net.Conn) {
	t.Helper()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if server = <-accepted; server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close() })
	return server, client
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// chunks returns n chunks of varied sizes and their concatenation.
func chunks(n int) ([][]byte, []byte) {
	var all [][]byte
	var want bytes.Buffer
	for i := range n {
		c := fmt.Appendf(nil, "frame %d;", i)
		if i%100 == 0 {
			c = append(c, bytes.Repeat([]byte{'x'}, 20000)...)
		}
		all = append(all, c)
		want.Write(c)
	}
	return all, want.Bytes()
}

// Bytes written arrive whole and in order, those still pending at close included.
func TestWriteCoalescerOrder(t *testing.T) {
	server, client := tcpPair(t, listenLoopback(t))
	w := newWriteCoalescer(server, time.Minute)
	all, want := chunks(2000)
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()
	for i, c := range all {
		if n, err := w.Write(c); n != len(c) || err != nil {
			t.Fatalf("Write %d = %d, %v", i, n, err)
		}
	}
	w.close()
	server.Close()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("client read %d bytes, want the %d written, in order", len(b), len(want))
	}
	if _, err := w.Write([]byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after close = %v, want net.ErrClosed", err)
	}
}

// writeUntilError writes 16 KiB chunks to w until a write fails, and returns that error.
func writeUntilError(w io.Writer) error {
	chunk := make([]byte, 16<<10)
	for {
		if _, err := w.Write(chunk); err != nil {
			return err
		}
	}
}

// A client that does not read fails the writes after the write timeout, and every later
// write returns the error: the HTTP/2 server sees it and closes the connection.
func TestWriteCoalescerStuckClient(t *testing.T) {
	server, _ := tcpPair(t, listenLoopback(t))
	w := newWriteCoalescer(server, 50*time.Millisecond)
	if err := writeUntilError(w); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a client not reading = %v, want a deadline error", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("next Write = %v, want the same error", err)
	}
}

// Without a write timeout, close still frees a writer blocked on a client not reading.
func TestWriteCoalescerCloseUnblocks(t *testing.T) {
	server, _ := tcpPair(t, listenLoopback(t))
	w := newWriteCoalescer(server, 0)
	done := make(chan error, 1)
	go func() { done <- writeUntilError(w) }()
	// Wait until the writer is blocked behind a full pending buffer.
	for {
		w.mu.Lock()
		full := w.pending != nil && len(*w.pending) >= maxPendingWrite
		w.mu.Unlock()
		if full {
			break
		}
		time.Sleep(time.Millisecond)
	}
	w.close()
	if err := <-done; err == nil {
		t.Fatal("blocked Write returned no error after close")
	}
}

// Under TLS: a helloConn coalescing its writes carries the records in order, and closing
// the TLS connection still delivers its close_notify (the client sees a clean EOF).
func TestHelloConnCoalescedTLS(t *testing.T) {
	ln := listenLoopback(t)
	raw, client := tcpPair(t, earlyListener{ln, &Server{}})
	hc := raw.(*helloConn)
	srv := tls.Server(hc, &tls.Config{Certificates: []tls.Certificate{cert(t, "pair.test")}})
	cl := tls.Client(client, clientTLS(t, "pair.test"))
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cl.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	hc.stopRecording()
	hc.coalesceWrites(time.Minute)
	all, want := chunks(500)
	got := make(chan error, 1)
	var b []byte
	go func() {
		var err error
		b, err = io.ReadAll(cl)
		got <- err
	}()
	for _, c := range all {
		if _, err := srv.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("client read: %v, want a clean close_notify EOF", err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("client read %d bytes, want the %d written, in order", len(b), len(want))
	}
}

// room is what Write takes without waiting (h2srv's flushes on its serve goroutine rely on
// it): writing no more than room never blocks, even to a client that does not read, until
// room is down to nothing.
func TestWriteCoalescerRoom(t *testing.T) {
	server, _ := tcpPair(t, listenLoopback(t))
	w := newWriteCoalescer(server, 0)
	defer w.close()
	if r := w.room(); r != maxPendingWrite {
		t.Fatalf("room of an idle coalescer = %d, want %d", r, maxPendingWrite)
	}
	chunk := bytes.Repeat([]byte{'r'}, 3000)
	for r := w.room(); r > 0; r = w.room() {
		if _, err := w.Write(chunk[:min(r, len(chunk))]); err != nil {
			t.Fatal(err)
		}
	}
	w.mu.Lock()
	n := 0
	if w.pending != nil {
		n = len(*w.pending)
	}
	w.mu.Unlock()
	if n < maxPendingWrite {
		t.Fatalf("room 0 with %d bytes pending, want %d", n, maxPendingWrite)
	}
}
