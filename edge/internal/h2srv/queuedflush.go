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

// flushesNow reports whether wr can be written on the serve goroutine: a flush, a
// HEADERS frame or a DATA frame that does not fit in the write buffer (upstream writes
// them from a goroutine of its own), whose bytes, the buffered ones included, fit as TLS
// records in what the connection queues without waiting. Records carry at most 1 KiB of payload at
// first (crypto/tls's dynamic record sizing), each with at most 22 bytes of header,
// content type and tag: 1/32 of the bytes plus 64 bounds them.
func (sc *serverConn) flushesNow(wr FrameWriteRequest) bool {
	if sc.queued == nil {
		return false
	}
	n := sc.bw.Buffered()
	switch w := wr.write.(type) {
	case flushFrameWriter:
	case *writeData:
		n += frameHeaderLen + len(w.p)
	case *writeResHeaders:
		n += resHeadersBound(w)
	default:
		return false
	}
	return sc.queued.WriteRoom() >= n+n/32+64
}

// resHeadersBound bounds the bytes of w's frames: HPACK never writes more than a field's
// name and value and a few bytes of lengths and flags (Huffman coding only when
// shorter), and each frame of at most 16 KiB has a 9-byte header.
func resHeadersBound(w *writeResHeaders) int {
	n := 64 + len(w.date) + len(w.contentType) + len(w.contentLength)
	for k, vv := range w.h {
		for _, v := range vv {
			n += len(k) + len(v) + 16
		}
	}
	return n + n/(16<<10)*frameHeaderLen + frameHeaderLen
}

// Buffered returns how many bytes w holds.
func (w *bufferedWriter) Buffered() int {
	if w.bw == nil {
		return 0
	}
	return w.bw.Buffered()
}
