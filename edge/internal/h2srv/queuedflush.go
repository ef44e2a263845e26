package h2srv

import (
	"crypto/tls"
	"net"
)

// edge: flushes on the serve goroutine when they cannot block (README.md, "Changes").
//
// Upstream flushes its write buffer from a goroutine of its own (writeFrameAsync), so the
// serve goroutine never blocks on the network; the result comes back over wroteFrameCh.
// When the connection under TLS queues writes without waiting (edge's writeCoalescer,
// which writes to the socket from its own goroutine), a flush that fits in what it
// takes without waiting is written on the serve goroutine instead: one goroutine and one
// hand-off less per flush, and the serve goroutine still never waits for the network.

// QueuedWriter is implemented by a connection under TLS whose Write queues bytes
// for another goroutine to write: a Write of at most WriteRoom bytes returns
// without waiting for the network.
type QueuedWriter interface {
	WriteRoom() int
}

type queuedWriter = QueuedWriter

// queuedWriterOf returns the queuedWriter under c, or nil.
func queuedWriterOf(c net.Conn) queuedWriter {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil
	}
	q, _ := tc.NetConn().(queuedWriter)
	return q
}

// flushesNow reports whether wr is a flush that can be written on the serve goroutine:
// the TLS records of the buffered bytes fit in what the connection queues without
// waiting. Records carry at most 1 KiB of payload at first (crypto/tls's dynamic
// record sizing), each with at most 22 bytes of header, content type and tag: 1/32
// of the bytes plus 64 bounds them.
func (sc *serverConn) flushesNow(wr FrameWriteRequest) bool {
	if _, ok := wr.write.(flushFrameWriter); !ok || sc.queued == nil {
		return false
	}
	n := sc.bw.Buffered()
	return sc.queued.WriteRoom() >= n+n/32+64
}

// Buffered returns how many bytes w holds.
func (w *bufferedWriter) Buffered() int {
	if w.bw == nil {
		return 0
	}
	return w.bw.Buffered()
}
