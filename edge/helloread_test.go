package edge

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// helloPair returns a helloConn accepted from an earlyListener (no snapshot: nothing is
// routed early) and the client end connected to it.
func helloPair(t *testing.T) (*helloConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := earlyListener{ln, &Server{}}.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*helloConn), client
}

// pattern returns n bytes that tell their position.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed)
	}
	return b
}

// readN reads n bytes from r in reads of at most chunk bytes.
func readN(t *testing.T, r io.Reader, n, chunk int) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, chunk)
	for len(out) < n {
		k, err := r.Read(buf[:min(chunk, n-len(out))])
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(out), err)
		}
		out = append(out, buf[:k]...)
	}
	return out
}

// A terminated site: what was read ahead past the point where recording stopped comes
// first, in order, then what the connection carries next.
func TestHelloConnStopWithBytesAhead(t *testing.T) {
	hc, client := helloPair(t)
	first, second := pattern(3000, 1), pattern(5000, 2)
	client.Write(first)
	got := readN(t, hc, 512, 512)
	hc.stopRecording()
	go client.Write(second)
	got = append(got, readN(t, hc, len(first)+len(second)-512, 700)...)
	if !bytes.Equal(got, append(first, second...)) {
		t.Fatal("bytes read differ from those written")
	}
	if hc.pending.Load() || hc.rec != nil {
		t.Error("the record is kept after all its bytes were served")
	}
}

// A passthrough site: the detached record holds every byte read from the connection,
// served to crypto/tls or not, and the raw connection carries the rest.
func TestHelloConnDetachKeepsBytesAhead(t *testing.T) {
	hc, client := helloPair(t)
	all := pattern(6000, 3)
	go client.Write(all)
	served := readN(t, hc, 300, 300)
	raw, rec, ok := hc.detach()
	if !ok || rec == nil {
		t.Fatal("detach refused a short hello")
	}
	hello := append([]byte(nil), *rec...)
	putHello(rec)
	if !bytes.HasPrefix(hello, served) {
		t.Fatal("the record does not begin with the bytes served")
	}
	rest := readN(t, raw, len(all)-len(hello), 4096)
	if !bytes.Equal(append(hello, rest...), all) {
		t.Fatal("record and raw connection together differ from what was written")
	}
}

// More than maxPassthroughHello read while recording is an overflow: detach refuses, and
// every byte still reaches the reader in order.
func TestHelloConnOverflow(t *testing.T) {
	hc, client := helloPair(t)
	all := pattern(maxPassthroughHello+3000, 4)
	go client.Write(all)
	if got := readN(t, hc, len(all), 600); !bytes.Equal(got, all) {
		t.Fatal("bytes read differ from those written")
	}
	if _, rec, ok := hc.detach(); ok || rec != nil {
		t.Error("detach accepted an overflowed record")
	}
}

// Close while a Read waits for bytes ends the Read; the record is not reused meanwhile.
func TestHelloConnCloseDuringRead(t *testing.T) {
	hc, _ := helloPair(t)
	done := make(chan error, 1)
	go func() {
		_, err := hc.Read(make([]byte, 512))
		done <- err
	}()
	waitFor(t, "the read under way", func() bool {
		hc.mu.Lock()
		defer hc.mu.Unlock()
		return hc.reading
	})
	hc.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close: %v; want net.ErrClosed", err)
	}
}
