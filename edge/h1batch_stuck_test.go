package edge

import (
	"sync/atomic"
	"testing"
	"time"
)

// A batch's write blocked on a client that stopped reading does not hold up Close or a new
// write deadline (crypto/tls's close_notify sets one; Server.Close closes every connection
// in turn): both end the blocked write instead of waiting for it.
func TestBatchBlockedWriteEnds(t *testing.T) {
	for name, end := range map[string]func(c *helloConn){
		"Close":            func(c *helloConn) { c.Close() },
		"SetWriteDeadline": func(c *helloConn) { c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond)) },
		"SetDeadline":      func(c *helloConn) { c.SetDeadline(time.Now().Add(50 * time.Millisecond)) },
	} {
		t.Run(name, func(t *testing.T) {
			c, written, stopped := blockedBatch(t)
			done := make(chan struct{})
			go func() { end(c); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s waited for the blocked write (%d bytes written)", name, written.Load())
			}
			<-stopped
		})
	}
}

// blockedBatch returns a batching helloConn over a TCP connection whose peer never reads,
// with a writer filling it in the background until a batch's write blocks (the buffers
// hold less than one batch);
// stopped is closed when the writer has returned.
func blockedBatch(t *testing.T) (c *helloConn, written *atomic.Int64, stopped chan struct{}) {
	c = &helloConn{Conn: unreadConn(t)}
	c.startBatch()
	written, stopped = new(atomic.Int64), make(chan struct{})
	go func() {
		defer close(stopped)
		p := make([]byte, 16<<10)
		for {
			if _, err := c.Write(p); err != nil {
				return
			}
			written.Add(int64(len(p)))
		}
	}()
	// The writer is blocked once its count stops moving (on a loaded machine it may only
	// be slow: then the test ends the batch without the block, and passes).
	for last := int64(-1); ; time.Sleep(50 * time.Millisecond) {
		n := written.Load()
		if n > 0 && n == last {
			return c, written, stopped
		}
		last = n
	}
}
