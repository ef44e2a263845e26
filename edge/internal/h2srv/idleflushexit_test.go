package h2srv

import (
	"bytes"
	"net"
	"testing"
)

// recordConn is a net.Conn that keeps what is written to it.
type recordConn struct {
	net.Conn
	out bytes.Buffer
}

func (c *recordConn) Write(p []byte) (int, error) { return c.out.Write(p) }

// shortRoom is a QueuedWriter with little room left (a coalescer with most of its
// 64 KiB pending, which still takes a small write without waiting).
type shortRoom int

func (r shortRoom) WriteRoom() int { return int(r) }

// TestFlushFramesAtExitKeepsFrames: frames whose flush was left to flushIdle (a GOAWAY
// here) reach the connection when the serve loop ends, also when the coalescer's room
// is short; before the deferred flush they were flushed (asynchronously if need be) as
// soon as written, and crypto/tls's close_notify, written right after, goes through the
// same connection anyway.
func TestFlushFramesAtExitKeepsFrames(t *testing.T) {
	conn := &recordConn{}
	sc := &serverConn{bw: newBufferedWriter(conn, 0), queued: shortRoom(80)}
	goAway := []byte{0, 0, 8, byte(FrameGoAway), 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2}
	sc.bw.Write(goAway)
	sc.writesHeld, sc.needsFrameFlush = true, true
	sc.flushFramesAtExit()
	if !bytes.Equal(conn.out.Bytes(), goAway) {
		t.Fatalf("connection got %x, want the GOAWAY %x (left in the write buffer: %d bytes)", conn.out.Bytes(), goAway, sc.bw.Buffered())
	}
}

// TestGoAwayTimerAfterHeldFlush: the 1 s close timer after a GOAWAY starts only once the
// GOAWAY has left the write buffer. Left there for flushIdle, it is not sent yet; a slow
// reader's async flush would otherwise race the timer that closes the connection.
func TestGoAwayTimerAfterHeldFlush(t *testing.T) {
	sc := &serverConn{inGoAway: true, goAwayCode: ErrCodeProtocol, writesHeld: true, needsFrameFlush: true}
	sc.startShutdownTimerAfterGoAway()
	if sc.shutdownTimer != nil {
		sc.shutdownTimer.Stop()
		t.Fatal("close timer started with the GOAWAY still in the write buffer")
	}
	sc.needsFrameFlush = false
	sc.startShutdownTimerAfterGoAway()
	if sc.shutdownTimer == nil {
		t.Fatal("close timer not started after the GOAWAY was flushed")
	}
	sc.shutdownTimer.Stop()
}
