package h2srv

import (
	"crypto/tls"
	"net"
	"runtime"
)

// edge: flushes written by the serve goroutine when it goes idle (README.md, "Changes").
//
// With a QueuedWriter under TLS (edge's writeCoalescer), a flush only queues the bytes,
// and the coalescer starts a goroutine per burst that yields to the runnable goroutines
// (handlers finishing other streams) before it writes them: a goroutine start, its yields
// and hand-offs per burst. When the connection is also an IdleFlusher, the serve goroutine
// holds the bytes of its writes instead and, once no message waits for it (having
// yielded up to maxIdleYields times, as that goroutine did, so that the responses
// finishing meanwhile leave with them), writes them itself without waiting for the
// network; what the socket does not take goes to the coalescer's goroutine.

// The frames written while the bytes are held stay in the serve goroutine's write buffer
// too (scheduleFrameWrite leaves its flush to flushIdle): the responses of a burst go to
// the connection as one TLS record instead of one per response, and leave no later
// than before (flushFrames runs before FlushHeld, and at the serve loop's end,
// flushFramesAtExit, before the connection closes).

// IdleFlusher is implemented by a QueuedWriter whose queued bytes the serve goroutine
// may write itself: after HoldWrites, Write leaves the bytes queued (unless too many
// are) until FlushHeld, which writes what the socket takes without waiting and leaves
// the rest to the writer's goroutine.
type IdleFlusher interface {
	HoldWrites()
	FlushHeld()
}

// maxIdleYields bounds how often the serve goroutine yields before a held flush.
const maxIdleYields = 4

// idleYield is how flushIdle yields (a variable for the tests).
var idleYield = runtime.Gosched

// maxHeldLoops bounds how many messages the serve goroutine handles while it holds
// written bytes.
const maxHeldLoops = 64

// idleFlusherOf returns the IdleFlusher under c, or nil.
func idleFlusherOf(c net.Conn) IdleFlusher {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil
	}
	f, _ := tc.NetConn().(IdleFlusher)
	return f
}

// holdWrites holds the writes of the connection until flushIdle writes them.
func (sc *serverConn) holdWrites() {
	if sc.idleFlush != nil && !sc.writesHeld {
		sc.idleFlush.HoldWrites()
		sc.writesHeld = true
	}
}

// flushIdle writes the held bytes once no message waits for the serve goroutine,
// after yielding up to maxIdleYields times to the goroutines that may send one; with
// messages waiting it returns, to be called again after the next.
//
// It yields only while a handler of the connection runs or waits to start: with none,
// no response can finish meanwhile and the yield only delays the flush. A yield puts the
// serve goroutine on the global run queue and wakes an idle P's thread (runtime.Gosched
// calls wakep), which finds nothing to do and parks again; at a moderate rate, where
// each response is mostly its connection's only one in flight, that was one such yield
// per response, and on a busy machine the flush could wait for a core behind it.
func (sc *serverConn) flushIdle() {
	for sc.heldLoops < maxHeldLoops {
		if sc.messagesWaiting() {
			sc.heldLoops++
			return
		}
		if sc.heldYields >= maxIdleYields || !sc.handlersRunning() {
			break
		}
		sc.heldYields++
		idleYield()
		if !sc.messagesWaiting() {
			break
		}
	}
	sc.flushFrames()
	sc.startShutdownTimerAfterGoAway() // a GOAWAY among the frames has been sent now
	sc.writesHeld, sc.heldYields, sc.heldLoops = false, 0, 0
	sc.idleFlush.FlushHeld()
}

// flushFrames flushes the frames written to the write buffer while writes were held,
// whose flush scheduleFrameWrite left to flushIdle: on the serve goroutine when the
// connection takes them without waiting, else as upstream does (writeFrameAsync). A
// frame being written asynchronously flushes them when it is done.
func (sc *serverConn) flushFrames() {
	if !sc.needsFrameFlush || sc.writingFrame {
		return
	}
	sc.flushingIdle = true
	sc.scheduleFrameWrite()
	sc.flushingIdle = false
}

// flushFramesAtExit flushes the frames left in the write buffer when the serve loop
// ends, before the connection closes (whose close_notify goes the same way). Before the
// flush was left to flushIdle they were flushed as soon as written; a connection that
// does not take them is bounded by its write timeout, as the close is.
func (sc *serverConn) flushFramesAtExit() {
	if sc.writesHeld && sc.needsFrameFlush && !sc.writingFrame {
		sc.bw.Flush()
		sc.needsFrameFlush = false
	}
}

// handlersRunning reports whether a handler of the connection runs or waits to start:
// one that may still send a response for the held flush to take along.
func (sc *serverConn) handlersRunning() bool {
	return sc.curHandlers > 0 || len(sc.unstartedHandlers) > 0
}

// messagesWaiting reports whether a message waits in one of the serve goroutine's
// buffered channels.
func (sc *serverConn) messagesWaiting() bool {
	return len(sc.wantWriteFrameCh) > 0 || len(sc.wroteFrameCh) > 0 || len(sc.serveMsgCh) > 0
}
