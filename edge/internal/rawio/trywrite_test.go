package rawio

import (
	"errors"
	"net"
	"testing"
)

// TestTryWrite: TryWrite writes what the socket takes and returns, without an error, when
// the peer does not read; on a closed connection it fails as net.Conn's Write does.
func TestTryWrite(t *testing.T) {
	t.Run("full", func(t *testing.T) {
		c, _ := pair(t) // the peer never reads: the buffers fill
		w := writer(t, c)
		p := make([]byte, 64<<20)
		n, err := w.TryWrite(p)
		if err != nil || n <= 0 || n >= len(p) {
			t.Fatalf("TryWrite of 64 MiB to a peer not reading = %d, %v; want part of it, nil", n, err)
		}
		if n, err := w.TryWrite(p); n >= len(p) || err != nil {
			t.Fatalf("TryWrite to a full socket = %d, %v; want less than all, nil", n, err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		c, _ := pair(t)
		w := writer(t, c)
		c.Close()
		_, err := w.TryWrite([]byte("x"))
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "write" || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("err %v, want a write *net.OpError with net.ErrClosed", err)
		}
	})
}
