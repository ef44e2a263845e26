package edge

import (
	"net"
	"testing"
	"time"
)

// TestByteDeadlineAfterClearedWithBatch: a write deadline cleared from above while a
// batch is pending (the end of a request under WriteTimeout, Hijack) leaves the next
// writes bounded by the write byte timeout: the flush's write moved the deadline before
// the clearing reached the socket, which must not pass for a deadline still set.
func TestByteDeadlineAfterClearedWithBatch(t *testing.T) {
	for name, clear := range map[string]func(c *helloConn){
		"SetWriteDeadline": func(c *helloConn) { c.SetWriteDeadline(time.Time{}) },
		"SetDeadline":      func(c *helloConn) { c.SetDeadline(time.Time{}) },
	} {
		t.Run(name, func(t *testing.T) {
			c := stalledPeer(t)
			c.startBatch()
			c.Write([]byte("pending"))
			clear(c)
			failed := make(chan error, 1)
			go func() { // the peer never reads: a write blocks once the buffers are full
				p := make([]byte, 16<<10)
				for {
					if _, err := c.Write(p); err != nil {
						failed <- err
						return
					}
				}
			}()
			select {
			case err := <-failed:
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					t.Fatalf("write failed with %v, want a timeout", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("a write to a peer that stopped reading has no deadline")
			}
		})
	}
}

// stalledPeer returns a helloConn with a write byte timeout of 300 ms over a TCP
// connection whose peer never reads.
func stalledPeer(t *testing.T) *helloConn {
	c := &helloConn{Conn: unreadConn(t)}
	c.bytes.timeout = 300 * time.Millisecond
	return c
}

// unreadConn returns one end of a loopback TCP connection whose peer never reads, both
// sides' buffers small, so that writes soon block.
func unreadConn(t *testing.T) net.Conn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	peer.(*net.TCPConn).SetReadBuffer(4096)
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).SetWriteBuffer(4096)
	t.Cleanup(func() { conn.Close() })
	return conn
}
