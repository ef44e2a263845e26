package rawio

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection.
func pair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var s net.Conn
	select {
	case s = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted in 10s")
	}
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func writer(t testing.TB, c net.Conn) *Writer {
	t.Helper()
	w := New(c)
	if w == nil {
		if runtime.GOOS != "linux" {
			t.Skip("raw writes are for Linux")
		}
		t.Fatal("New(a *net.TCPConn) = nil on Linux")
	}
	return w
}

// TestWriteWhole: writes larger than the socket's buffers (the writer waits in the poller
// for the reader) arrive whole and in order.
func TestWriteWhole(t *testing.T) {
	c, s := pair(t)
	w := writer(t, c)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	got := make(chan [32]byte, 1)
	go func() {
		h := sha256.New()
		io.Copy(h, s)
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		got <- sum
	}()
	for i := 0; i < 3; i++ {
		if n, err := w.Write(data); n != len(data) || err != nil {
			t.Fatalf("write %d: %d, %v; want %d, nil", i, n, err, len(data))
		}
	}
	c.CloseWrite()
	h := sha256.New()
	for i := 0; i < 3; i++ {
		h.Write(data)
	}
	select {
	case sum := <-got:
		if !bytes.Equal(sum[:], h.Sum(nil)) {
			t.Fatal("the reader got other bytes than were written")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader did not get the end in 10s")
	}
}

// TestWriteErrors: a write deadline that passes while the socket is full, a closed
// connection and a reset peer give the errors net.Conn's Write gives.
func TestWriteErrors(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		c, _ := pair(t) // the peer never reads: the buffers fill
		w := writer(t, c)
		c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := w.Write(make([]byte, 64<<20))
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "write" || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err %v, want a write *net.OpError with os.ErrDeadlineExceeded", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		c, _ := pair(t)
		w := writer(t, c)
		c.Close()
		_, err := w.Write([]byte("x"))
		_, want := c.Write([]byte("x"))
		if err == nil || want == nil || err.Error() != want.Error() || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("err %v, want %v (net.Conn's)", err, want)
		}
	})
	t.Run("reset", func(t *testing.T) {
		c, s := pair(t)
		w := writer(t, c)
		s.SetLinger(0)
		s.Close()
		var err error
		for end := time.Now().Add(10 * time.Second); err == nil && time.Now().Before(end); {
			_, err = w.Write([]byte("x"))
		}
		var oe *net.OpError
		var se *os.SyscallError
		if !errors.As(err, &oe) || oe.Op != "write" || !errors.As(err, &se) || se.Syscall != "write" {
			t.Fatalf("err %#v, want a write *net.OpError around an *os.SyscallError", err)
		}
	})
}

// TestNewOnlyNonBlockingTCP: wrappers and blocking descriptors get no Writer.
func TestNewOnlyNonBlockingTCP(t *testing.T) {
	c, _ := pair(t)
	writer(t, c)
	if New(struct{ net.Conn }{c}) != nil {
		t.Error("New(a wrapper) != nil: the wrapper would not see the writes")
	}
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { syscall.SetNonblock(int(fd), false) })
	if New(c) != nil {
		t.Error("New(a blocking socket) != nil: a raw write could block the scheduler's P")
	}
	rc.Control(func(fd uintptr) { syscall.SetNonblock(int(fd), true) })
}

// BenchmarkWrite compares a 64-byte write with net.Conn's Write ("conn") and a Writer's
// ("raw") on loopback, the peer draining.
func BenchmarkWrite(b *testing.B) {
	for _, name := range []string{"conn", "raw"} {
		b.Run(name, func(b *testing.B) {
			c, s := pair(b)
			go io.Copy(io.Discard, s)
			var wr io.Writer = c
			if name == "raw" {
				wr = writer(b, c)
			}
			p := make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wr.Write(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func reader(t testing.TB, c net.Conn) *Reader {
	t.Helper()
	r := NewReader(c)
	if r == nil {
		if runtime.GOOS != "linux" {
			t.Skip("raw reads are for Linux")
		}
		t.Fatal("NewReader(a *net.TCPConn) = nil on Linux")
	}
	return r
}

// TestReadAsConn: a Reader gives what net.Conn's Read gives: the bytes written (after
// waiting for them), io.EOF unwrapped at the end, a read *net.OpError for a passed
// deadline and for a closed connection, and 0, nil for an empty buffer.
func TestReadAsConn(t *testing.T) {
	c, s := pair(t)
	r := reader(t, c)
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v; want 0, nil", n, err)
	}
	go func() {
		s.Write([]byte("hello"))
		s.CloseWrite()
	}()
	got, err := io.ReadAll(r)
	if string(got) != "hello" || err != nil {
		t.Fatalf("ReadAll = %q, %v; want hello, nil", got, err)
	}
	if n, err := r.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read after the end = %d, %v; want 0, io.EOF", n, err)
	}

	c2, _ := pair(t)
	r2 := reader(t, c2)
	c2.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err = r2.Read(make([]byte, 8))
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err %v, want a read *net.OpError with os.ErrDeadlineExceeded", err)
	}
	c2.Close()
	_, err = r2.Read(make([]byte, 8))
	_, want := c2.Read(make([]byte, 8))
	if err == nil || want == nil || err.Error() != want.Error() || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("err %v, want %v (net.Conn's)", err, want)
	}
}
