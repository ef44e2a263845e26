//go:build linux

package edge

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/rawio"
)

// rawTryConn is a TCP connection with limitConn's TryWrite.
type rawTryConn struct {
	net.Conn
	w *rawio.Writer
}

func (c rawTryConn) TryWrite(p []byte) (int, error) { return c.w.TryWrite(p) }

// heldPair returns a coalescer of a loopback connection that can write held bytes
// itself, and the client end.
func heldPair(t *testing.T) (*writeCoalescer, net.Conn) {
	t.Helper()
	server, client := tcpPair(t, listenLoopback(t))
	rw := rawio.New(server)
	if rw == nil {
		t.Skip("no raw writes on this socket")
	}
	return newWriteCoalescer(rawTryConn{server, rw}, time.Minute), client
}

// readAllAsync reads c to its end.
func readAllAsync(c net.Conn) <-chan []byte {
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(c)
		got <- b
	}()
	return got
}

// Held writes start no flusher; flushHeld writes them; bursts of held and unheld writes
// arrive whole and in order, also when the socket does not take a burst at once (the
// 20 KB chunks fill it; the rest goes to the flusher) and when more than maxPendingWrite
// is held (Write starts the flusher rather than wait).
func TestWriteCoalescerHeldOrder(t *testing.T) {
	w, client := heldPair(t)
	all, want := chunks(3000)
	got := readAllAsync(client)
	for i, c := range all {
		if i%7 == 0 {
			w.holdWrites()
		}
		if n, err := w.Write(c); n != len(c) || err != nil {
			t.Fatalf("Write %d = %d, %v", i, n, err)
		}
		if i == 0 {
			w.mu.Lock()
			started, held := w.flushing, w.pending != nil
			w.mu.Unlock()
			if started || !held {
				t.Fatalf("after a held Write: flusher started %v, bytes pending %v; want false, true", started, held)
			}
		}
		if i%7 == 3 {
			w.flushHeld()
		}
	}
	w.flushHeld()
	w.close()
	w.conn.Close()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("client read %d bytes, want the %d written, in order", len(b), len(want))
	}
}

// Bytes still held when the coalescer closes are written.
func TestWriteCoalescerHeldAtClose(t *testing.T) {
	w, client := heldPair(t)
	got := readAllAsync(client)
	w.holdWrites()
	if _, err := w.Write([]byte("goaway")); err != nil {
		t.Fatal(err)
	}
	w.close()
	w.conn.Close()
	if b := <-got; string(b) != "goaway" {
		t.Fatalf("client read %q, want the held bytes", b)
	}
}

// A write error of flushHeld is kept: later Writes return it.
func TestWriteCoalescerHeldError(t *testing.T) {
	w, client := heldPair(t)
	client.(*net.TCPConn).SetLinger(0)
	client.Close()
	w.holdWrites()
	var err error
	for range 100 { // the first writes after the peer's reset may still succeed
		if _, err = w.Write(make([]byte, 1024)); err != nil {
			break
		}
		w.flushHeld()
		time.Sleep(time.Millisecond)
		w.holdWrites()
	}
	if err == nil {
		t.Fatal("writes to a reset connection never failed")
	}
	if _, err2 := w.Write([]byte("x")); err2 == nil {
		t.Fatal("Write after a failed write succeeded")
	}
}
