package edge

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// maxPassthroughHello caps what is recorded of a connection's first bytes: one TLS record
// of the largest size (16 KiB plus its 5-byte header) and the slack of one more header.
// A ClientHello for a passthrough site that does not fit is refused (reason
// "clienthello_too_large"); terminated sites keep crypto/tls's own limit.
const maxPassthroughHello = 16<<10 + 2*5

// The SNI of passthrough connections is read by crypto/tls itself: every connection of
// the TLS listener is a helloConn, which records the bytes crypto/tls reads until
// GetConfigForClient (called once the whole ClientHello is parsed, before anything is
// written) decides. For a terminated site recording stops and the handshake goes on
// unchanged. For a passthrough site the helloConn is detached: the handshake is aborted,
// its alert and Close fall into the void, and the raw connection with the recorded bytes
// (replayed to the upstream first) goes to the passthrough. Slow, split and
// never-finishing ClientHellos are bounded by the handshake timeout
// (Limits.ReadHeaderTimeout) as for every site. A connection whose whole ClientHello is
// there when it is accepted takes a shorter way (helloearly.go): helloSNI, which reads
// no ClientHello differently from crypto/tls (it abstains instead), routes it at accept.

// newHelloConn returns c recording, rec (from helloBufs) holding what was read of it.
func newHelloConn(c net.Conn, rec *[]byte) *helloConn {
	hc := &helloConn{Conn: c, rec: rec}
	hc.recording.Store(true)
	return hc
}

// helloBufs recycles recording buffers.
var helloBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// helloConn records what is read until stopped, and can be detached from the TLS stack.
// While recording it reads ahead (helloread.go): the record holds every byte read from
// the connection, and Read serves crypto/tls from it.
type helloConn struct {
	net.Conn
	mu sync.Mutex
	// rec is every byte read from Conn while recording, rec[:served] given to Read; nil
	// once given back. A record stopped with bytes not served yet is kept until they are.
	rec      *[]byte
	served   int
	reading  bool // a read into rec's spare room is under way (without the lock)
	overflow bool // more than maxPassthroughHello was read
	// recording, pending (rec holds bytes not served yet) and detached are read without
	// the lock on every Read and Write.
	recording, pending, detached atomic.Bool
	// wc coalesces writes once the connection serves HTTP/2 (h2server.go); nil before.
	wc *writeCoalescer
	// batching is set while batch holds writes back (h1batch.go), read on every Write.
	batching atomic.Bool
	batch    writeBatch
	// bytes bounds each write's wait for the client (bytedeadline.go).
	bytes byteDeadline
}

// stopRecording ends recording: the connection is terminated here. The record goes back
// to the pool, unless Read has bytes of it to serve still or is reading into it.
func (c *helloConn) stopRecording() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recording.Store(false)
	switch {
	case c.rec == nil:
	case c.reading: // Close during a read: the reader serves what came, then gives it back
	case c.served < len(*c.rec):
		c.pending.Store(true)
	default:
		c.releaseLocked()
	}
}

// releaseLocked gives the record back to the pool (c.mu held).
func (c *helloConn) releaseLocked() {
	putHello(c.rec)
	c.rec, c.served = nil, 0
	c.pending.Store(false)
}

// detach hands over the raw connection and the record of the bytes read so far, to be
// given back with putHello once used (ok false if they overflowed: the record is given
// back already). Afterwards the helloConn ignores writes, deadlines and Close.
func (c *helloConn) detach() (raw net.Conn, hello *[]byte, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.detached.Store(true)
	c.recording.Store(false)
	ok = !c.overflow && c.rec != nil
	hello, c.rec, c.served = c.rec, nil, 0
	c.pending.Store(false)
	if !ok {
		putHello(hello)
		hello = nil
	}
	return c.Conn, hello, ok
}

// putHello gives a record back to helloBufs; nil is ignored.
func putHello(rec *[]byte) {
	if rec != nil {
		*rec = (*rec)[:0]
		helloBufs.Put(rec)
	}
}

func (c *helloConn) isDetached() bool { return c.detached.Load() }

// Write implements net.Conn; nothing is written once detached (crypto/tls's alert).
func (c *helloConn) Write(p []byte) (int, error) {
	if c.isDetached() {
		return len(p), nil
	}
	if c.wc != nil {
		return c.wc.Write(p)
	}
	if c.batching.Load() {
		return c.batchWrite(p)
	}
	c.beforeWrite()
	return c.Conn.Write(p)
}

// Close implements net.Conn; the passthrough closes a detached connection itself.
func (c *helloConn) Close() error {
	if c.isDetached() {
		return nil
	}
	c.stopRecording()
	if c.wc != nil {
		c.wc.close()
	}
	if c.batching.Load() {
		c.closeBatch()
	}
	return c.Conn.Close()
}

// SetDeadline implements net.Conn.
func (c *helloConn) SetDeadline(t time.Time) error {
	if c.isDetached() {
		return nil
	}
	if c.wc != nil { // the writeCoalescer owns the write deadline
		return c.Conn.SetReadDeadline(t)
	}
	c.deadlineFromAbove(t) // a write deadline too (Hijack clears both)
	c.limitBatchWrite(t)
	c.flushBatch()
	return c.setFromAbove(t, c.Conn.SetDeadline) // again: the flush's writes may have moved it
}

// SetReadDeadline implements net.Conn.
func (c *helloConn) SetReadDeadline(t time.Time) error {
	if c.isDetached() {
		return nil
	}
	c.flushBatch()
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline implements net.Conn.
func (c *helloConn) SetWriteDeadline(t time.Time) error {
	if c.isDetached() || c.wc != nil {
		return nil
	}
	c.deadlineFromAbove(t) // for the flush's writes
	c.limitBatchWrite(t)
	c.flushBatch()
	return c.setFromAbove(t, c.Conn.SetWriteDeadline) // again: the flush's writes may have moved it
}

// WriteRoom returns how many bytes Write takes now without waiting for the network: the
// room in its writeCoalescer, 0 when it has none (h2srv.QueuedWriter).
func (c *helloConn) WriteRoom() int {
	if c.wc == nil || c.isDetached() {
		return 0
	}
	return c.wc.room()
}

// HoldWrites has the writeCoalescer hold the writes until FlushHeld (h2srv.IdleFlusher).
func (c *helloConn) HoldWrites() {
	if c.wc != nil && !c.isDetached() {
		c.wc.holdWrites()
	}
}

// FlushHeld writes the held bytes, what the socket takes at once on the caller's
// goroutine (h2srv.IdleFlusher).
func (c *helloConn) FlushHeld() {
	if c.wc != nil && !c.isDetached() {
		c.wc.flushHeld()
	}
}
